package dev.backstop.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestCluster;
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
 * The catalog goes away while a snapshot runs: the run fails (nothing of it stays in storage) and
 * its end, which the catalog could not take then, is recorded once the catalog answers again, so
 * its source is free: no row stays RUNNING, no snapshot is refused as "already running".
 */
class CatalogOutageTest {
    private Path dir;
    private YamlApps apps;
    private TestCluster catalog;

    @AfterEach
    void stop() throws Exception {
        if (apps != null) {
            apps.close();
        }
        if (catalog != null) {
            catalog.close();
        }
        if (dir != null) {
            dev.backstop.source.FileTrees.delete(dir);
        }
    }

    @Test
    void aRunWhoseEndTheCatalogCouldNotTakeIsRecordedWhenItAnswersAndTheSourceIsFree() throws Exception {
        catalog = TestCluster.start();
        dir = TestCluster.openDirectory("backstop-catalog-outage");
        apps = new YamlApps(dir);
        Files.writeString(dir.resolve("lines.txt"), "a\n");
        DropwizardTestSupport<BackstopConfiguration> app = apps.start("""
                catalog:
                  driverClass: org.postgresql.Driver
                  url: jdbc:postgresql://127.0.0.1:%d/postgres
                  user: postgres
                  password: ""
                  properties: {connectTimeout: "2", socketTimeout: "5"}
                resilience:
                  database:
                    retry: {initialDelay: 100ms, maxDelay: 500ms, maxDuration: 2s}
                    breaker: {failureThreshold: 3, delay: 2s, successThreshold: 1}
                    timeout: 5s
                """.formatted(catalog.port()).replace("%", "%%"), "  - {type: lines, name: big, path: %s/lines.txt, endless: true}\n");
        String id = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"big\"}").json().get("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json()
                .path("rawBytes").asLong() > 0);

        catalog.server().stop("fast");
        // The run fails at its next progress write; what it wrote leaves storage.
        await().atMost(Duration.ofSeconds(60)).until(() -> storedFiles(dir.resolve("backups")) == 0
                && !Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body().lines()
                        .anyMatch(l -> l.startsWith("backstop_snapshot_progress_bytes{source=\"big\",stage=\"read\"}") && !l.endsWith(" 0.0")));
        catalog.server().start();
        catalog.server().awaitReady("postgres", null, true, Duration.ofSeconds(60));

        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER)
                .status() == 200 && !Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json().get("status").asText()
                        .equals("RUNNING"));
        JsonNode failed = Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
        assertThat(failed.get("status").asText()).as(failed.toString()).isEqualTo("FAILED");
        assertThat(failed.get("error").asText()).isNotBlank();

        Http.Reply again = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"big\"}");
        assertThat(again.status()).as("the source is free: " + again.body()).isEqualTo(202);
        String next = again.json().get("id").asText();
        assertThat(Http.send("POST", YamlApps.api(app, "/snapshots/" + next + "/cancel"), TestTokens.OPERATOR, "application/json", "")
                .status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + next), TestTokens.READER).json()
                .get("status").asText().equals("CANCELLED"));
    }

    private static long storedFiles(Path backups) throws Exception {
        if (!Files.isDirectory(backups)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(backups)) {
            return files.filter(Files::isRegularFile).filter(f -> f.toString().contains("/big/")).count();
        } catch (java.io.UncheckedIOException vanished) {
            return -1; // a file (the storage probe's) went away during the walk: look again
        }
    }
}
