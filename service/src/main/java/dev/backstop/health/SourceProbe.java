package dev.backstop.health;

import dev.backstop.source.SnapshotSource;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Detailed only: a source can be snapshotted now (reachable; for postgres, pg_dump present and new
 * enough), and the conditions its type reports (postgres-cluster: WAL receiver, archive lag, window age).
 */
public final class SourceProbe implements HealthProbe {
    private final SnapshotSource source;

    public SourceProbe(SnapshotSource source) {
        this.source = source;
    }

    @Override
    public String name() {
        return "source-" + source.name();
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of();
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        long started = System.nanoTime();
        HealthObservation.Builder entry = HealthObservation.of("source", "reachable", now).id(source.name()).type(source.type());
        List<HealthObservation> observations = new java.util.ArrayList<>();
        try {
            source.checkReachable();
            observations.add(entry.value((System.nanoTime() - started) / 1_000_000, "ms").pass());
        } catch (Exception e) {
            observations.add(entry.value((System.nanoTime() - started) / 1_000_000, "ms")
                    .status(HealthStatus.FAIL, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        for (dev.backstop.source.SourceCondition condition : source.conditions(now)) {
            observations.add(HealthObservation.of("source", condition.measurement(), now).id(source.name()).type(source.type())
                    .value(condition.value(), condition.unit()).status(switch (condition.level()) {
                        case PASS -> HealthStatus.PASS;
                        case WARN -> HealthStatus.WARN;
                        case FAIL -> HealthStatus.FAIL;
                    }, condition.output()));
        }
        return observations;
    }
}
