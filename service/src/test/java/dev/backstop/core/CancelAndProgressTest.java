package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.S3ProxyServer;
import dev.backstop.support.TcpProxy;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Cancelling a snapshot or a restore through the API, against S3Proxy behind a loopback proxy that
 * can stall the transfer (so the run is provably still going when the cancel arrives): the run
 * stops, cleans up as a failure does, and ends CANCELLED; progress is visible while it runs.
 */
class CancelAndProgressTest {
    private final Path dir = TestApps.tempDir("backstop-cancel");
    private final YamlApps apps = new YamlApps(dir);
    private S3ProxyServer s3;
    private TcpProxy proxy;
    private DropwizardTestSupport<BackstopConfiguration> app;

    @BeforeEach
    void start() throws Exception {
        s3 = S3ProxyServer.start();
        s3.createBucket("cancel");
        proxy = new TcpProxy("127.0.0.1", s3.endpoint().getPort()).start();
        Path data = Files.createDirectories(dir.resolve("data"));
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(5);
        for (int i = 0; i < 24; i++) { // 24 MiB that do not compress: several parts, several progress reports
            random.nextBytes(chunk);
            Files.write(data.resolve("blob-" + i), chunk);
        }
        app = apps.start("""
                storage:
                  targets:
                    - {type: s3, name: s3, bucket: cancel, endpoint: "http://127.0.0.1:%2$s", pathStyleAccess: true,
                       checksumMode: WHEN_REQUIRED, accessKeyId: %3$s, secretAccessKey: %4$s, partSize: 5MiB, concurrency: 2}
                compression: {level: 1}
                """.replace("%2$s", Integer.toString(proxy.port())).replace("%3$s", S3ProxyServer.ACCESS_KEY)
                .replace("%4$s", S3ProxyServer.SECRET_KEY), """
                  - {type: directory, name: files, path: %1$s/data}
                """);
    }

    @AfterEach
    void stop() throws Exception {
        proxy.release();
        apps.close();
        proxy.close();
        s3.close();
    }

    private JsonNode get(String path) {
        Http.Reply reply = Http.get(YamlApps.api(app, path), TestTokens.READER);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        return reply.json();
    }

    private String metrics() {
        return Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
    }

    @Test
    void aCancelledSnapshotEndsCancelledWithNothingLeftInStorage() throws Exception {
        proxy.hold(); // the store does not answer: the snapshot cannot finish before the cancel arrives
        Http.Reply started = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"files\"}");
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        String id = started.json().get("id").asText();
        // Progress while it runs: bytes read and stored so far, in the API and as metrics.
        await().atMost(Duration.ofSeconds(60)).until(() -> get("/snapshots/" + id).path("rawBytes").asLong() > 0);
        assertThat(metrics()).containsPattern("backstop_snapshot_progress_bytes\\{source=\"files\",stage=\"read\"} [1-9]");

        Http.Reply cancel = Http.send("POST", YamlApps.api(app, "/snapshots/" + id + "/cancel"), TestTokens.OPERATOR, null, null);
        assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
        assertThat(Http.send("POST", YamlApps.api(app, "/snapshots/" + id + "/cancel"), TestTokens.READER, null, null).status())
                .as("cancel needs the operator role").isEqualTo(403);
        proxy.release();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(get("/snapshots/" + id).get("status").asText())
                .as(get("/snapshots/" + id).toString()).isEqualTo("CANCELLED"));
        JsonNode row = get("/snapshots/" + id);
        assertThat(row.get("error").asText()).startsWith("cancelled by test-operator");
        assertThat(s3.blobStore().list("cancel").stream().map(org.jclouds.blobstore.domain.StorageMetadata::getName)
                .filter(name -> !name.startsWith(".backstop-probe"))) // the health probe's own object comes and goes
                .as("no object left in the bucket").isEmpty();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            var leftovers = ((dev.backstop.storage.s3.S3Target) new dev.backstop.storage.s3.S3TargetFactory("x", "cancel", "",
                    null, s3.endpoint(), true, S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY, null, null, null,
                    io.dropwizard.util.DataSize.mebibytes(5), 1, dev.backstop.storage.s3.S3TargetFactory.ChecksumMode.WHEN_REQUIRED,
                    null).build()).openUploads();
            return leftovers.isEmpty();
        });
        assertThat(metrics()).contains("backstop_snapshots_total{outcome=\"cancelled\",source=\"files\"} 1.0");
        dev.backstop.resources.ProblemJsonTest.assertProblem(Http.send("POST", YamlApps.api(app, "/snapshots/" + id + "/cancel"),
                TestTokens.OPERATOR, null, null), 409, "conflict");
    }

    @Test
    void aCancelledRestoreEndsCancelledAndLeavesNoTarget() throws Exception {
        Http.Reply started = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"files\"}");
        String snapshot = started.json().get("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> get("/snapshots/" + snapshot).get("status").asText().equals("COMPLETED"));

        Path target = dir.resolve("restored");
        proxy.hold(); // the download stalls before its first byte
        Http.Reply accepted = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json",
                "{\"snapshotId\": \"" + snapshot + "\", \"target\": {\"path\": \"" + target + "\"}, \"mode\": \"new\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String restore = accepted.json().get("id").asText();
        Http.Reply cancel = Http.send("POST", YamlApps.api(app, "/restores/" + restore + "/cancel"), TestTokens.OPERATOR, null, null);
        assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
        proxy.release();
        await().atMost(Duration.ofSeconds(60)).until(() -> get("/restores/" + restore).get("phase").asText().equals("CANCELLED"));
        assertThat(get("/restores/" + restore).get("error").asText()).startsWith("cancelled by test-operator");
        assertThat(target).doesNotExist();
        try (var siblings = Files.list(dir)) {
            assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".restored")))
                    .as("no half-restored sibling").isEmpty();
        }
        assertThat(dir.resolve("staging")).as("restores stream: nothing is staged").satisfiesAnyOf(
                p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
        assertThat(metrics()).contains("backstop_restores_total{outcome=\"cancelled\",source=\"files\"} 1.0")
                .as("a cancel is not a failure").contains("backstop_restores_total{outcome=\"failed\",source=\"files\"} 0.0");

        // A restore that runs to the end reports its phases with progress and ends with an ETA gone.
        Http.Reply again = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json",
                "{\"snapshotId\": \"" + snapshot + "\", \"target\": {\"path\": \"" + target + "\"}, \"mode\": \"new\"}");
        String done = again.json().get("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> get("/restores/" + done).get("phase").asText().equals("COMPLETED"));
        JsonNode finished = get("/restores/" + done);
        assertThat(finished.has("etaSeconds")).isFalse();
        assertThat(finished.get("phaseStartedAt").asText()).isNotBlank();
        assertThat(Files.size(target.resolve("blob-0"))).isEqualTo(1 << 20);
    }
}
