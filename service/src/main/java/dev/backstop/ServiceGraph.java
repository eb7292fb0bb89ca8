package dev.backstop;

import dev.backstop.auth.ApiToken;
import dev.backstop.auth.GeneratedToken;
import dev.backstop.db.Catalog;
import dev.backstop.health.CatalogProbe;
import dev.backstop.health.DeadlockProbe;
import dev.backstop.health.DiskSpaceProbe;
import dev.backstop.health.HealthMonitor;
import dev.backstop.health.HealthProbe;
import dev.backstop.metrics.DropwizardCollector;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.jdbi3.JdbiFactory;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds every long-lived object once, from the configuration. The server's
 * {@code run()} and the CLI commands both start here, so they cannot drift apart.
 *
 * @param version   release of this build ({@code dev} when not run from the packaged jar)
 * @param startedAt when the graph was built
 */
public record ServiceGraph(
        BackstopConfiguration config,
        Clock clock,
        String version,
        Instant startedAt,
        Catalog catalog,
        List<ApiToken> tokens,
        HealthMonitor health,
        PrometheusRegistry prometheus) {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceGraph.class);

    public static ServiceGraph create(BackstopConfiguration config, Environment environment, Clock clock)
            throws Exception {
        String version = versionOf(BackstopApplication.class);
        Catalog catalog = openCatalog(config.catalog(), environment);
        List<ApiToken> tokens = tokens(config);
        HealthMonitor health = new HealthMonitor(probes(config, catalog), config.healthMonitor(), clock,
                environment.getObjectMapper(), environment.metrics(), version);
        PrometheusRegistry prometheus = new PrometheusRegistry();
        JvmMetrics.builder().register(prometheus);
        prometheus.register(new DropwizardCollector(environment.metrics()));
        return new ServiceGraph(config, clock, version, clock.instant(), catalog, tokens, health, prometheus);
    }

    private static Catalog openCatalog(DataSourceFactory factory, Environment environment) throws Exception {
        String type = Catalog.typeOf(factory);
        ManagedDataSource dataSource = factory.build(environment.metrics(), "catalog");
        int applied;
        try {
            applied = Catalog.migrate(dataSource);
        } catch (Exception e) {
            dataSource.stop();
            throw new IllegalStateException("Cannot open the catalog database at catalog.url (" + factory.getUrl()
                    + "): " + rootMessage(e), e);
        }
        LOG.info("Catalog ({}) ready; {} migration changesets applied", type, applied);
        Jdbi jdbi = new JdbiFactory().build(environment, factory, dataSource, "catalog");
        // JdbiFactory adds a health check that queries the database on the request thread; ours is cached.
        environment.healthChecks().unregister("catalog");
        return new Catalog(jdbi, dataSource, type);
    }

    private static List<HealthProbe> probes(BackstopConfiguration config, Catalog catalog) {
        java.time.Duration timeout = java.time.Duration.ofMillis(config.healthMonitor().timeout().toMilliseconds());
        return List.of(
                new DeadlockProbe(),
                new CatalogProbe(catalog.dataSource(), config.catalog().getValidationQuery().orElse("SELECT 1"), timeout),
                new DiskSpaceProbe(config.disk()));
    }

    private static List<ApiToken> tokens(BackstopConfiguration config) throws IOException {
        if (!config.auth().tokens().isEmpty()) {
            return config.auth().tokens();
        }
        return List.of(GeneratedToken.loadOrCreate(config.auth().generatedTokenFile()));
    }

    static String versionOf(Class<?> type) {
        String version = type.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }
}
