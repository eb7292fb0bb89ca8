package dev.backstop.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TcpProxy;
import dev.backstop.support.TestBackstopApplication;
import dev.backstop.support.TestPostgres;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The admin health endpoints on a PostgreSQL catalog reached through a loopback proxy, so the
 * database can really go away (connections reset, new ones refused) and come back.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class HealthEndpointsTest {
    static final TestPostgres POSTGRES;
    static final TcpProxy PROXY;

    static {
        try {
            POSTGRES = TestPostgres.create();
            PROXY = new TcpProxy(TestPostgres.HOST, TestPostgres.PORT).start();
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final DropwizardAppExtension<BackstopConfiguration> APP = new DropwizardAppExtension<>(
            TestBackstopApplication.class, ResourceHelpers.resourceFilePath("test-config.yml"),
            ConfigOverride.config("catalog.driverClass", "org.postgresql.Driver"),
            ConfigOverride.config("catalog.url", POSTGRES.jdbcUrl("127.0.0.1", PROXY.port())),
            ConfigOverride.config("catalog.user", TestPostgres.USER),
            ConfigOverride.config("catalog.properties.connectTimeout", "1"),
            ConfigOverride.config("catalog.properties.socketTimeout", "2"));

    @AfterAll
    static void dropDatabase() throws Exception {
        PROXY.close();
        POSTGRES.close();
    }

    private String admin(String path) {
        return "http://127.0.0.1:" + APP.getAdminPort() + path;
    }

    /**
     * The first probe round runs while the server starts, with the test's 400 ms probe timeout; on
     * a loaded machine one cold query can miss it. Wait for a round in which every check answered.
     */
    @org.junit.jupiter.api.BeforeEach
    void awaitAHealthyRound() {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                .until(() -> Http.get(admin("/health/detailed"), null).status() == 200);
    }

    @Test
    void allEndpointsAnswerHealthJson() {
        for (String path : new String[] {"/health/live", "/health/ready", "/health/detailed"}) {
            Http.Reply reply = Http.get(admin(path), null);
            assertThat(reply.status()).as(path + ": " + reply.body()).isEqualTo(200);
            assertThat(reply.contentType()).isEqualTo("application/health+json");
            assertThat(reply.header("Cache-Control")).isEqualTo("no-store");
            assertThat(reply.json().get("status").asText()).isIn("pass", "warn");
        }
        Http.Reply detailed = Http.get(admin("/health/detailed"), null);
        assertThat(detailed.json().get("checks").fieldNames()).toIterable()
                .contains("catalog:responseTime", "catalog:connections", "disk:free", "disk:freePercent", "threads:deadlocked");
        assertThat(detailed.json().get("checks").get("catalog:connections").findValuesAsText("componentId"))
                .containsExactly("active", "idle", "waiting");
        assertThat(Http.get(admin("/health/live"), null).json().get("checks").has("catalog:responseTime"))
                .as("liveness never depends on external systems").isFalse();
    }

    @Test
    void dropwizardAdminEndpointsAreKept() {
        assertThat(Http.get(admin("/ping"), null).status()).isEqualTo(200);
        assertThat(Http.get(admin("/threads"), null).status()).isEqualTo(200);
        assertThat(Http.get(admin("/metrics"), null).status()).isEqualTo(200);
        Http.Reply healthcheck = Http.get(admin("/healthcheck"), null);
        assertThat(healthcheck.status()).isEqualTo(200);
        assertThat(healthcheck.json().has("catalog")).isTrue();
        assertThat(Http.get(admin("/tasks/gc"), null).status()).isEqualTo(405); // tasks are POST-only
    }

    @Test
    void readinessFailsWhileTheCatalogIsDownAndRecoversWithoutRestart() throws Exception {
        assertThat(Http.get(admin("/health/ready"), null).status()).isEqualTo(200);
        PROXY.stop();
        try {
            // period 500ms + timeout 400ms in test-config.yml: one round, plus slack for a slow machine.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                Http.Reply ready = Http.get(admin("/health/ready"), null);
                assertThat(ready.status()).isEqualTo(503);
                assertThat(ready.contentType()).isEqualTo("application/health+json");
                assertThat(ready.json().get("status").asText()).isEqualTo("fail");
                assertThat(ready.json().get("checks").get("catalog:responseTime").get(0).path("output").asText())
                        .contains("catalog database unreachable");
            });
            assertThat(Http.get(admin("/health/live"), null).status()).as("liveness ignores the catalog").isEqualTo(200);
            assertThat(Http.get(admin("/health/detailed"), null).status()).isEqualTo(503);
        } finally {
            PROXY.start();
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(Http.get(admin("/health/ready"), null).status()).isEqualTo(200));
    }
}
