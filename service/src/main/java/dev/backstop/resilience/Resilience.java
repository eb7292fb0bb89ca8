package dev.backstop.resilience;

import com.codahale.metrics.MetricRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Builds the policies once from {@code resilience:}, one {@link Guard} per component. */
public final class Resilience {
    private final ResilienceConfig config;
    private final MetricRegistry metrics;
    private final Map<String, Guard> guards = new ConcurrentHashMap<>();
    private final Map<String, Guard> databases = new ConcurrentHashMap<>();

    public Resilience(ResilienceConfig config, MetricRegistry metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    /** The guard of a component, e.g. {@code storage:offsite}; {@code failures} is what the component knows of its own. */
    public Guard guard(String component, FailureClassifier failures) {
        return guards.computeIfAbsent(component, c -> new Guard(c, config, metrics, true, failures));
    }

    /** The guard of a database's connections, e.g. {@code database:catalog} or {@code database:app-db}. */
    public Guard database(String name) {
        return databases.computeIfAbsent("database:" + name, c -> new Guard(c, config.forDatabases(), metrics, false, FailureClassifier.GENERIC));
    }
}
