package dev.backstop.health;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.Catalog;
import dev.backstop.support.TestApps;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Readiness needs a catalog that takes writes, not one that only answers SELECT 1. */
class CatalogProbeTest {

    @Test
    void aCatalogThatAnswersButRefusesWritesFailsReadinessAndRecoversWithoutARestart() throws Exception {
        String url = "jdbc:h2:" + TestApps.tempDir("catalog-probe").resolve("catalog");
        ManagedDataSource owner = dataSource(url, "backstop", "");
        ManagedDataSource reader = null;
        try (Connection keepOpen = DriverManager.getConnection(url, "backstop", ""); Statement s = keepOpen.createStatement()) {
            Catalog.migrate(owner);
            s.execute("CREATE USER service PASSWORD 'pw'");
            s.execute("GRANT SELECT ON audit_events TO service");
            reader = dataSource(url, "service", "pw");
            CatalogProbe probe = new CatalogProbe(reader, "SELECT 1", Duration.ofSeconds(2));

            List<HealthObservation> refused = probe.observe(Instant.now());
            assertThat(status(refused, "catalog:responseTime")).as("it still answers").isEqualTo(HealthStatus.PASS);
            HealthObservation writable = find(refused, "catalog:writable");
            assertThat(writable.status()).isEqualTo(HealthStatus.FAIL);
            assertThat(writable.output()).startsWith("catalog database does not take writes:");
            assertThat(probe.endpoints()).as("a readiness check").contains(HealthEndpoint.READY);

            s.execute("GRANT INSERT ON audit_events TO service");
            assertThat(status(probe.observe(Instant.now()), "catalog:writable")).isEqualTo(HealthStatus.PASS);
            try (var rows = s.executeQuery("SELECT COUNT(*) FROM audit_events")) {
                rows.next();
                assertThat(rows.getInt(1)).as("the probe's row is rolled back").isZero();
            }
        } finally {
            owner.stop();
            if (reader != null) {
                reader.stop();
            }
        }
    }

    @Test
    void checkOpensTheCatalogReadOnlyAndDoesNotProbeWrites() throws Exception {
        ManagedDataSource owner = dataSource("jdbc:h2:" + TestApps.tempDir("catalog-probe").resolve("catalog"), "backstop", "");
        try {
            Catalog.migrate(owner);
            assertThat(new CatalogProbe(owner, "SELECT 1", Duration.ofSeconds(2), false).observe(Instant.now()))
                    .extracting(HealthObservation::key).doesNotContain("catalog:writable");
        } finally {
            owner.stop();
        }
    }

    private static ManagedDataSource dataSource(String url, String user, String password) {
        DataSourceFactory factory = new DataSourceFactory();
        factory.setDriverClass("org.h2.Driver");
        factory.setUrl(url);
        factory.setUser(user);
        factory.setPassword(password);
        return factory.build(new MetricRegistry(), "catalog-" + user);
    }

    private static HealthStatus status(List<HealthObservation> observations, String key) {
        return find(observations, key).status();
    }

    private static HealthObservation find(List<HealthObservation> observations, String key) {
        return observations.stream().filter(o -> o.key().equals(key)).findFirst().orElseThrow(() -> new AssertionError(key + " in "
                + observations));
    }
}
