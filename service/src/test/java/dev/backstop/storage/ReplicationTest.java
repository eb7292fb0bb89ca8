package dev.backstop.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.core.Replicator;
import dev.backstop.support.Http;
import dev.backstop.support.S3ProxyServer;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Replicated targets against a real S3 server (S3Proxy, two buckets) and a filesystem target: a
 * replica that was down catches up, a restore reads from the other target while the first is down,
 * two buckets on one endpoint copy server-side, and deleting removes every copy.
 */
class ReplicationTest {
    private static final String NEVER = "0 0 0 1 1 ? 2099";
    private final Path dir = TestApps.tempDir("backstop-replicas");
    private final YamlApps apps = new YamlApps(dir);
    private S3ProxyServer s3;
    private DropwizardTestSupport<BackstopConfiguration> app;
    private String storage;
    private static final String SOURCES = """
              - {type: directory, name: local-first, target: fs, replicas: [s3a], path: %1$s/data, schedule: "0 0 0 1 1 ? 2099"}
              - {type: directory, name: s3-first, target: s3a, replicas: [fs, s3b], path: %1$s/data, schedule: "0 0 0 1 1 ? 2099"}
            """;
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

    @BeforeEach
    void start() throws Exception {
        s3 = S3ProxyServer.start();
        s3.createBucket("bucket-a");
        s3.createBucket("bucket-b");
        Files.createDirectories(dir.resolve("data/sub"));
        byte[] blob = new byte[3 << 20];
        new Random(5).nextBytes(blob);
        Files.write(dir.resolve("data/blob.bin"), blob);
        Files.writeString(dir.resolve("data/sub/note.txt"), "hello replicas\n");
        String target = """
                    - type: s3
                      name: %s
                      bucket: %s
                      endpoint: %s
                      pathStyleAccess: true
                      checksumMode: WHEN_REQUIRED
                      accessKeyId: %s
                      secretAccessKey: %s
                      partSize: 5MiB
                """;
        storage = "storage:\n  targets:\n    - {type: filesystem, name: fs, path: %1$s/backups}\n"
                + target.formatted("s3a", "bucket-a", s3.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)
                + target.formatted("s3b", "bucket-b", s3.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)
                + "  replicationSchedule: \"" + NEVER + "\"\n  replicationLagWarn: 1s\n"
                + "resilience:\n  retry: {initialDelay: 100ms, maxDelay: 500ms, maxDuration: 1s}\n"
                + "  breaker: {failureThreshold: 50, delay: 1s, successThreshold: 1}\n";
        app = apps.start(storage, SOURCES);
        logs.start();
        Logger log = (Logger) LoggerFactory.getLogger(Replicator.class);
        log.setLevel(Level.INFO);
        log.addAppender(logs);
    }

    @AfterEach
    void stop() throws Exception {
        apps.close();
        s3.close();
    }

    private JsonNode snapshot(String source) {
        Http.Reply taken = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\":\"" + source + "\"}");
        assertThat(taken.status()).as(taken.body()).isEqualTo(202);
        String id = taken.json().get("id").asText();
        await().atMost(Duration.ofSeconds(20)).until(() -> !"RUNNING".equals(get("/snapshots/" + id).get("status").asText()));
        JsonNode row = get("/snapshots/" + id);
        assertThat(row.get("status").asText()).as(row.toString()).isEqualTo("COMPLETED");
        return row;
    }

    private JsonNode get(String path) {
        return Http.get(YamlApps.api(app, path), TestTokens.READER).json();
    }

    /** target -> status of each copy of a snapshot, from the catalog. */
    private List<String> copies(String snapshotId) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Connection c = apps.catalog();
                Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT target, status FROM snapshot_copies WHERE snapshot_id = '" + snapshotId
                        + "' ORDER BY target")) {
            while (r.next()) {
                rows.add(r.getString(1) + "=" + r.getString(2));
            }
        }
        return rows;
    }

    /** Restores a snapshot by REST call into {@code dir/into}, asserts it COMPLETED with the source's bytes; returns where. */
    private Path restoreCompleted(String id, String into) throws Exception {
        Path restored = dir.resolve(into);
        Http.Reply restore = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json",
                "{\"snapshotId\":\"" + id + "\",\"target\":{\"path\":\"" + restored + "\"},\"mode\":\"new\"}");
        assertThat(restore.status()).as(restore.body()).isEqualTo(202);
        String location = restore.header("Location");
        await().atMost(Duration.ofSeconds(60)).until(() -> List.of("COMPLETED", "FAILED")
                .contains(Http.get(location, TestTokens.READER).json().get("phase").asText()));
        JsonNode done = Http.get(location, TestTokens.READER).json();
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(Files.readAllBytes(restored.resolve("blob.bin"))).isEqualTo(Files.readAllBytes(dir.resolve("data/blob.bin")));
        return restored;
    }

    /** Deletes a snapshot by REST call and asserts none of the three targets holds its data any more. */
    private void deleteEverywhere(String id, String dataKey) {
        Http.Reply deleted = Http.send("DELETE", YamlApps.api(app, "/snapshots/" + id), TestTokens.OPERATOR, null, null);
        assertThat(deleted.status()).as(deleted.body()).isEqualTo(200);
        assertThat(inBucket("bucket-a", dataKey)).isFalse();
        assertThat(inBucket("bucket-b", dataKey)).isFalse();
        assertThat(dir.resolve("backups").resolve(dataKey)).doesNotExist();
    }

    private boolean inBucket(String bucket, String key) {
        return s3.blobStore().blobExists(bucket, key);
    }

    private JsonNode replicaHealth(String target, String measurement) {
        JsonNode detailed = Http.get(YamlApps.admin(app, "/health/detailed"), null).json();
        for (JsonNode entry : detailed.get("checks").get("replica:" + measurement)) {
            if (entry.get("componentId").asText().equals(target)) {
                return entry;
            }
        }
        throw new AssertionError("no replica:" + measurement + " entry for " + target + ": " + detailed);
    }

    /** A replica added to a source later gets the snapshots the source already had, through the catch-up job. */
    @Test
    void aReplicaAddedLaterGetsWhatTheSourceAlreadyHad() throws Exception {
        String first = snapshot("local-first").get("id").asText();
        String second = snapshot("local-first").get("id").asText();
        await().atMost(Duration.ofSeconds(20)).until(() -> copies(second).contains("s3a=COPIED"));
        String config = Files.readString(dir.resolve("config-0.yml"));
        apps.stop(app);
        String withReplica = config.replace("replicas: [s3a]", "replicas: [s3a, s3b]");
        assertThat(withReplica).isNotEqualTo(config);
        String tail = withReplica.substring(withReplica.indexOf("storage:"));
        app = apps.start(tail.substring(0, tail.indexOf("sources:\n")).replace("%", "%%"),
                tail.substring(tail.indexOf("sources:\n") + "sources:\n".length()).replace("%", "%%"));
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/replicate.s3b/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> copies(first).contains("s3b=COPIED") && copies(second).contains("s3b=COPIED"));
        JsonNode job = get("/jobs/replicate.s3b");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("/jobs/replicate.s3b").path("lastRun").path("detail").asText()
                .contains("2 older snapshots queued"));
        assertThat(get("/jobs/replicate.s3b").get("lastRun").get("detail").asText()).as(job.toString()).startsWith("copied 2, failed 0");
        assertThat(inBucket("bucket-b", get("/snapshots/" + first).get("dataKey").asText())).isTrue();
    }

    @Test
    void aReplicaThatWasDownCatchesUpAfterItReturns() throws Exception {
        s3.pause();
        JsonNode row = snapshot("local-first");
        String id = row.get("id").asText();
        await().atMost(Duration.ofSeconds(10)).until(() -> copies(id).contains("s3a=FAILED"));
        assertThat(copies(id)).containsExactly("fs=COPIED", "s3a=FAILED");
        await().atMost(Duration.ofSeconds(10)).until(() -> "warn".equals(replicaHealth("s3a", "lag").get("status").asText()));
        assertThat(replicaHealth("s3a", "missingSnapshots").get("observedValue").asInt()).isEqualTo(1);

        s3.resume();
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/replicate.s3a/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> copies(id).contains("s3a=COPIED"));
        assertThat(inBucket("bucket-a", row.get("dataKey").asText())).isTrue();
        assertThat(inBucket("bucket-a", row.get("manifestKey").asText())).isTrue();
        assertThat(logs.list).anyMatch(e -> e.getFormattedMessage().contains("copied from fs to s3a (streamed")
                && e.getFormattedMessage().contains("SHA-256 verified"));
        await().atMost(Duration.ofSeconds(10)).until(() -> "pass".equals(replicaHealth("s3a", "lag").get("status").asText()));
    }

    @Test
    void aRestoreReadsFromTheOtherTargetWhileTheFirstIsDownAndDeleteRemovesEveryCopy() throws Exception {
        JsonNode row = snapshot("s3-first");
        String id = row.get("id").asText();
        await().atMost(Duration.ofSeconds(20)).until(() -> copies(id).equals(List.of("fs=COPIED", "s3a=COPIED", "s3b=COPIED")));
        assertThat(logs.list).anyMatch(e -> e.getFormattedMessage().contains("copied from s3a to s3b (server-side copy"));
        assertThat(inBucket("bucket-b", row.get("dataKey").asText())).isTrue();
        assertThat(dir.resolve("backups").resolve(row.get("dataKey").asText())).exists();

        s3.pause(); // the snapshot's own target (and s3b) are gone: the restore must read the fs copy
        Path restored = restoreCompleted(id, "restored");
        assertThat(Files.readString(restored.resolve("sub/note.txt"))).isEqualTo("hello replicas\n");
        s3.resume();

        deleteEverywhere(id, row.get("dataKey").asText());
    }

    /**
     * The catalog is lost: a rebuild from storage makes the row from the source's own target
     * (whichever target it lists first) and records the replicas' copies, so a restore still reads a
     * replica while the own target is down, and a delete still reaches every copy.
     */
    @Test
    void aRebuiltCatalogKnowsEveryCopyAndARestoreReadsAReplica() throws Exception {
        JsonNode row = snapshot("s3-first");
        String id = row.get("id").asText();
        await().atMost(Duration.ofSeconds(20)).until(() -> copies(id).equals(List.of("fs=COPIED", "s3a=COPIED", "s3b=COPIED")));
        apps.stop(app);
        Files.delete(dir.resolve("catalog.mv.db"));
        app = apps.start(storage, SOURCES);
        Http.Reply task = Http.send("POST", YamlApps.admin(app, "/tasks/rebuild-catalog"), null, null, null);
        assertThat(task.status()).as(task.body()).isEqualTo(200);
        JsonNode rebuilt = get("/snapshots/" + id);
        assertThat(rebuilt.get("storageTarget").asText()).as("the source's own target, though fs is listed first")
                .isEqualTo("s3a");
        assertThat(copies(id)).containsExactly("fs=COPIED", "s3b=COPIED");

        s3.pause();
        restoreCompleted(id, "restored-after-rebuild");
        s3.resume();

        deleteEverywhere(id, row.get("dataKey").asText());
    }
}
