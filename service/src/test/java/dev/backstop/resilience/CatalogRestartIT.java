package dev.backstop.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.BackstopConfiguration;
import dev.backstop.resources.ProblemJsonTest;
import dev.backstop.support.Http;
import dev.backstop.support.Shell;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real restart of the PostgreSQL server under a running Backstop (an IT: it runs alone, after the
 * other tests, and needs root, as CI has): readiness fails and the API answers 503 problem+json
 * while the catalog is down, the catalog's breaker opens, and everything recovers by itself once
 * PostgreSQL is back, without restarting Backstop.
 */
class CatalogRestartIT {
    private final Path dir = TestApps.tempDir("backstop-pg-restart");
    private final YamlApps apps = new YamlApps(dir);
    private TestPostgres catalog;

    @AfterEach
    void cleanUp() throws Exception {
        postgres("start");
        apps.close();
        if (catalog != null) {
            catalog.close();
        }
    }

    private static String cluster() throws Exception {
        try (Stream<Path> versions = Files.list(Path.of("/etc/postgresql"))) {
            return versions.map(p -> p.getFileName().toString()).sorted().reduce((a, b) -> b).orElseThrow();
        }
    }

    private static void postgres(String action) throws Exception {
        Shell.run(Path.of("/"), "pg_ctlcluster --skip-systemctl-redirect " + cluster() + " main " + action + " || true");
        if (action.equals("start")) {
            Shell.run(Path.of("/"), "for i in $(seq 1 60); do pg_isready -q -h 127.0.0.1 && exit 0; sleep 0.5; done; exit 1");
        }
    }

    @Test
    void apiAndReadinessFailWhilePostgresRestartsAndRecoverWithoutRestartingBackstop() throws Exception {
        catalog = TestPostgres.create();
        DropwizardTestSupport<BackstopConfiguration> app = apps.start("""
                catalog:
                  driverClass: org.postgresql.Driver
                  url: %2$s
                  user: %3$s
                  password: ""
                  properties: {connectTimeout: "2", socketTimeout: "5"}
                resilience:
                  database:
                    retry: {initialDelay: 100ms, maxDelay: 500ms, maxDuration: 2s}
                    breaker: {failureThreshold: 3, delay: 2s, successThreshold: 1}
                    timeout: 5s
                """.replace("%2$s", catalog.jdbcUrl()).replace("%3$s", TestPostgres.USER), "  []\n");
        String snapshots = YamlApps.api(app, "/snapshots");
        String ready = YamlApps.admin(app, "/health/ready");
        assertThat(Http.get(snapshots, TestTokens.READER).status()).isEqualTo(200);
        assertThat(Http.get(ready, null).status()).isEqualTo(200);

        postgres("stop");
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> Http.get(ready, null).status() == 503);
            Http.Reply down = Http.get(snapshots, TestTokens.READER);
            ProblemJsonTest.assertProblem(down, 503, "service-unavailable");
            assertThat(down.json().get("detail").asText()).contains("catalog database is unavailable");
            assertThat(down.header("Retry-After")).isEqualTo("5");
            // After a few failures the breaker opens and callers fail at once instead of waiting for retries.
            await().atMost(Duration.ofSeconds(20)).until(() -> Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body()
                    .contains("backstop_circuit_breaker_state{component=\"database:catalog\"} 2.0"));
            String rejected = "backstop_resilience_events_total{component=\"database:catalog\",event=\"rejected\",policy=\"breaker\"}";
            double before = counter(YamlApps.admin(app, "/metrics/prometheus"), rejected);
            ProblemJsonTest.assertProblem(Http.get(snapshots, TestTokens.READER), 503, "service-unavailable");
            // Fails fast, shown without a wall-clock bound: the open breaker refused it instead of retrying.
            assertThat(counter(YamlApps.admin(app, "/metrics/prometheus"), rejected)).as("refused by the open breaker")
                    .isGreaterThan(before);
        } finally {
            postgres("start");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(ready, null).status() == 200);
        await().atMost(Duration.ofSeconds(10)).until(() -> Http.get(snapshots, TestTokens.READER).status() == 200);
        assertThat(Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body())
                .contains("backstop_resilience_events_total{component=\"database:catalog\",event=\"close\",policy=\"breaker\"}");
    }

    private static double counter(String url, String series) {
        return Http.get(url, null).body().lines().filter(line -> line.startsWith(series + " ")).findFirst()
                .map(line -> Double.parseDouble(line.substring(series.length() + 1).trim())).orElse(0.0);
    }
}
