package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.resources.ProblemJsonTest;
import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.support.ClusterApps;
import dev.backstop.support.Http;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code type: postgres-cluster} base backups against a private PostgreSQL 15 cluster: the
 * snapshot is a real {@code pg_basebackup}, the restore a real server recovering from it.
 */
class ClusterBaseBackupTest {
    private ClusterApps fixture;
    private TestCluster cluster;
    private Path dir;
    private YamlApps apps;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.start("backstop-pgcluster");
        cluster = fixture.cluster;
        dir = fixture.dir;
        apps = fixture.apps;
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    private DropwizardTestSupport<BackstopConfiguration> app() throws Exception {
        return fixture.startApp("verify: {schedule: \"0 0 0 1 1 ? 2099\", database: postgres, probeQuery: \"SELECT count(*) FROM orders\"}");
    }

    private static String snapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        return ClusterApps.snapshot(app);
    }

    private static Http.Reply restore(DropwizardTestSupport<BackstopConfiguration> app, String body) {
        return Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", body);
    }

    private static JsonNode awaitRestore(Http.Reply accepted) {
        return ClusterApps.awaitRestore(accepted);
    }

    @Test
    void aBaseBackupRestoresIntoAFreshDataDirectoryWithExactlyTheRowsItHeld() throws Exception {
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY, note text)",
                "INSERT INTO orders SELECT i, repeat('x', 100) FROM generate_series(1, 5000) i");
        var app = app();
        String id = snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (5001, 'after the backup')");

        Path data = dir.resolve("restored");
        int port = TestCluster.freePort();
        JsonNode done = awaitRestore(restore(app, """
                {"snapshotId": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": %d, "start": true}}
                """.formatted(id, data, port)));
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        PgServer server = fixture.restored(data, port);
        assertThat(done.get("detail").asText()).contains("the server runs on 127.0.0.1:" + port);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(5000);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders WHERE id = 5001")).isZero();
        assertThat(TestCluster.count(server, "SELECT count(*) FROM pg_settings WHERE name = 'archive_mode' AND setting = 'off'"))
                .isEqualTo(1);
        assertThat(Files.exists(data.resolve("backup_manifest"))).as("pg_basebackup's manifest came with the tar").isTrue();

        // The source was not touched: it still has the row written after the backup.
        assertThat(cluster.count("SELECT count(*) FROM orders")).isEqualTo(5001);
    }

    @Test
    void aStoppedRestoreLeavesACleanDataDirectoryAndMistakesAreRefusedBeforeAnythingIsWritten() throws Exception {
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders SELECT generate_series(1, 10)");
        var app = app();
        String id = snapshot(app);

        Path data = dir.resolve("stopped");
        JsonNode done = awaitRestore(restore(app, """
                {"snapshotId": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": %d}}
                """.formatted(id, data, TestCluster.freePort())));
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(done.get("detail").asText()).contains("recovered, then stopped");
        assertThat(new PgServer(TestCluster.tools(), data, 1).running()).isFalse();
        assertThat(Files.exists(data.resolve("backup_label"))).as("recovery finished: the label is gone").isFalse();

        ProblemJsonTest.assertProblem(restore(app, """
                {"snapshotId": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": 5999}}
                """.formatted(id, data)), 409, "conflict");
        ProblemJsonTest.assertProblem(Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.ADMIN, "application/json", """
                {"snapshotId": "%s", "mode": "replace", "target": {"dataDirectory": "%s", "port": 5999}}
                """.formatted(id, cluster.dataDirectory())), 422, "validation-failed");
        ProblemJsonTest.assertProblem(restore(app, """
                {"snapshotId": "%s", "mode": "new", "target": {"dataDir": "%s/x", "port": 5999}}
                """.formatted(id, dir)), 422, "validation-failed");
        ProblemJsonTest.assertProblem(restore(app, """
                {"snapshotId": "%s", "mode": "new", "target": {"dataDirectory": "%s/x", "port": "fifty"}}
                """.formatted(id, dir)), 422, "validation-failed");
        ProblemJsonTest.assertProblem(restore(app, """
                {"snapshotId": "%s", "mode": "new", "target": {"dataDirectory": "%s/x", "port": %d}}
                """.formatted(id, dir, cluster.port())), 409, "conflict");
        assertThat(Files.exists(dir.resolve("x"))).isFalse();
        assertThat(cluster.count("SELECT count(*) FROM orders")).isEqualTo(10);
    }

    @Test
    void aBaseBackupWhoseWalCannotBeArchivedFailsAndLeavesNothingInStorage() throws Exception {
        fixture.close();
        fixture = ClusterApps.start("backstop-pgcluster", "max_replication_slots = 0"); // pg_receivewal cannot create its slot
        cluster = fixture.cluster;
        dir = fixture.dir;
        apps = fixture.apps;
        var app = app();
        JsonNode row = ClusterApps.awaitSnapshot(app);
        assertThat(row.get("status").asText()).as(row.toString()).isEqualTo("FAILED");
        assertThat(row.get("error").asText()).contains("was not archived within");
        try (var files = Files.walk(dir.resolve("backups"))) {
            assertThat(files.filter(p -> p.getFileName().toString().startsWith("data.tar")).toList()).isEmpty();
        }
        JsonNode window = Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
        assertThat(window.get("archive").get("receiver").asText()).isEqualTo("down");
        assertThat(window.get("archive").get("lastError").asText()).contains("replication slot");
    }

    /** Waits until the source has a recoverable window, so its drill restores a point in time. */
    private static void awaitWindow(DropwizardTestSupport<BackstopConfiguration> app) {
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER)
                .json().hasNonNull("recoverableUntil"));
    }

    private static JsonNode drill(DropwizardTestSupport<BackstopConfiguration> app, String id) {
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/verify.main/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(180)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER)
                .json().has("verifyStatus"));
        return Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
    }

    @Test
    void aDrillRestoresTheNewestPointFirstProbesItRecordsItAsProvenAndRemovesTheScratchCopy() throws Exception {
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders SELECT generate_series(1, 42)");
        var app = app();
        String id = snapshot(app);
        awaitWindow(app);
        JsonNode before = Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
        assertThat(before.get("verifiedUntil").isNull()).as("nothing proven before a drill: " + before).isTrue();
        assertThat(Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body())
                .contains("backstop_pitr_verified_until_timestamp_seconds{source=\"main\"} 0.0");
        JsonNode drilled = drill(app, id);
        assertThat(drilled.get("verifyStatus").asText()).as(drilled.toString()).isEqualTo("PASSED");
        assertThat(drilled.get("verifyDetail").asText()).contains("point-in-time drill to").contains("(RTO)").contains("recoveredTo")
                .contains("probe query returned 42 in database postgres");
        assertThat(Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body())
                .contains("backstop_verification_rto_seconds{source=\"main\"}")
                .contains("backstop_verifications_total{outcome=\"passed\",source=\"main\"} 1.0")
                .doesNotContain("backstop_pitr_verified_until_timestamp_seconds{source=\"main\"} 0.0");
        // With nothing proven yet the drill took the newest point of the window, and that point is now proven.
        JsonNode after = Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
        String proven = after.get("verifiedUntil").asText();
        assertThat(drilled.get("verifyDetail").asText()).contains("point-in-time drill to " + proven.substring(0, 19));
        assertThat(java.time.Instant.parse(proven)).isAfterOrEqualTo(java.time.Instant.parse(before.get("recoverableUntil").asText())
                        .truncatedTo(java.time.temporal.ChronoUnit.MILLIS))
                .isBeforeOrEqualTo(java.time.Instant.parse(after.get("recoverableUntil").asText()));
        assertNoScratchCluster();
    }

    private void assertNoScratchCluster() throws java.io.IOException {
        try (var left = Files.walk(dir.resolve("staging"))) {
            assertThat(left.filter(p -> p.getFileName().toString().equals("PG_VERSION")).toList()).as("no scratch cluster left")
                    .isEmpty();
        }
    }

    /** Every point of the window replays from the base backup's first WAL segment: stored corrupt, the drill fails. */
    @Test
    void aDrillFailsWhenTheWalTheWindowNeedsIsCorrupt() throws Exception {
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders SELECT generate_series(1, 42)");
        var app = app();
        String id = snapshot(app);
        awaitWindow(app);
        String start;
        try (var marks = Files.list(dir.resolve("backups/main/wal/basebackups"))) {
            start = marks.map(p -> p.getFileName().toString().substring(0, 24)).findFirst().orElseThrow();
        }
        Files.write(dir.resolve("backups/main/wal/00000001/" + start + ".zst"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        JsonNode drilled = drill(app, id);
        assertThat(drilled.get("verifyStatus").asText()).as(drilled.toString()).isEqualTo("FAILED");
        assertThat(drilled.get("verifyDetail").asText()).contains("point-in-time drill to").contains(start);
        assertThat(Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body())
                .contains("backstop_verifications_total{outcome=\"failed\",source=\"main\"} 1.0");
        assertThat(Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json().get("verifiedUntil").isNull())
                .as("a failed drill proves nothing").isTrue();
        assertNoScratchCluster();
    }
}
