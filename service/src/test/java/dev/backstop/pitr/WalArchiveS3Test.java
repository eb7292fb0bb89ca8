package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.support.ClusterApps;
import dev.backstop.support.Http;
import dev.backstop.support.S3ProxyServer;
import dev.backstop.support.Shell;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestGpg;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The WAL archive on S3 (S3Proxy in-process), encrypted with OpenPGP, and through an outage of the S3 server. */
class WalArchiveS3Test {
    private static final String BUCKET = "wal";
    private S3ProxyServer s3;
    private TestGpg gpg;
    private ClusterApps fixture;
    private TestCluster cluster;
    private Path dir;
    private YamlApps apps;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.start("backstop-wal-s3");
        cluster = fixture.cluster;
        dir = fixture.dir;
        apps = fixture.apps;
        s3 = S3ProxyServer.start();
        s3.createBucket(BUCKET);
        gpg = TestGpg.create();
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close(); // the service first: it stores what its spool holds while S3 still answers
        }
        if (s3 != null) {
            s3.close();
        }
        if (gpg != null) {
            gpg.close();
        }
    }

    private DropwizardTestSupport<BackstopConfiguration> app() throws Exception {
        Path publicKey = gpg.exportPublicKey(dir.resolve("backstop.pub.asc"));
        Path secretKey = gpg.exportSecretKey(dir.resolve("backstop.sec.asc"));
        var app = apps.start("""
                storage:
                  targets:
                    - {type: s3, name: s3, bucket: %s, endpoint: %s, pathStyleAccess: true, accessKeyId: %s, secretAccessKey: %s,
                       checksumMode: WHEN_REQUIRED}
                encryption: {recipientKeyFile: %s, privateKeyFile: %s}
                """.formatted(BUCKET, s3.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY, publicKey, secretKey)
                .replace("%", "%%"), fixture.source("partialUploadEvery: 1s").replace("%", "%%"));
        awaitCovered(app, Instant.now());
        return app;
    }

    private static JsonNode window(DropwizardTestSupport<BackstopConfiguration> app) {
        return Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
    }

    private static void awaitCovered(DropwizardTestSupport<BackstopConfiguration> app, Instant instant) {
        await().atMost(Duration.ofSeconds(90)).until(() -> {
            JsonNode w = window(app);
            return w.hasNonNull("recoverableUntil") ? Instant.parse(w.get("recoverableUntil").asText()).isAfter(instant)
                    : w.get("archive").hasNonNull("coveredUntil")
                            && Instant.parse(w.get("archive").get("coveredUntil").asText()).isAfter(instant);
        });
    }

    private List<String> keys() {
        List<String> keys = new ArrayList<>();
        for (StorageMetadata m : s3.blobStore().list(BUCKET, ListContainerOptions.Builder.recursive())) {
            keys.add(m.getName());
        }
        return keys;
    }

    private static void snapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        ClusterApps.snapshot(app);
    }

    private PgServer restoreLatest(DropwizardTestSupport<BackstopConfiguration> app, String name) throws Exception {
        Path data = dir.resolve(name);
        int port = TestCluster.freePort();
        Http.Reply accepted = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", """
                {"source": "main", "pointInTime": "latest", "mode": "new", "target": {"dataDirectory": "%s", "port": %d, "start": true}}
                """.formatted(data, port));
        JsonNode done = ClusterApps.awaitRestore(accepted);
        PgServer server = fixture.restored(data, port);
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        return server;
    }

    @Test
    void encryptedWalIsStoredAsOpenPgpThatGpgAndZstdReadAndRestores() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders SELECT generate_series(1, 100)");
        snapshot(app);
        cluster.sql("INSERT INTO orders SELECT generate_series(101, 200)", "SELECT pg_switch_wal()");
        awaitCovered(app, Instant.now());
        List<String> wal = keys().stream().filter(k -> k.startsWith("main/wal/00000001/") && !k.endsWith(".digest.json")).toList();
        assertThat(wal).isNotEmpty().allMatch(k -> k.endsWith(".zst.pgp"));
        assertThat(keys()).as("each immutable segment has its digest record, which names no content").contains(
                wal.stream().filter(k -> !k.contains(".partial")).findFirst().orElseThrow() + ".digest.json");
        String segment = wal.stream().filter(k -> !k.contains(".partial")).findFirst().orElseThrow();
        java.nio.file.Files.write(dir.resolve("segment.zst.pgp"), s3.blobStore().getBlob(BUCKET, segment).getPayload().openStream()
                .readAllBytes());
        String size = Shell.run(dir, "gpg --homedir " + gpg.home() + " --batch --quiet --decrypt segment.zst.pgp | zstd -d | wc -c");
        assertThat(size.trim()).isEqualTo(Integer.toString(16 * 1024 * 1024));

        PgServer server = restoreLatest(app, "encrypted");
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(200);
    }

    @Test
    void whileS3IsDownTheSpoolGrowsAndNothingIsLostWhenItComesBack() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY, pad text)");
        snapshot(app);
        s3.pause();
        for (int i = 0; i < 3; i++) {
            cluster.sql("INSERT INTO orders SELECT g, repeat('x', 200) FROM generate_series(" + (i * 1000 + 1) + ", " + (i + 1) * 1000
                    + ") g", "SELECT pg_switch_wal()");
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> window(app).get("archive").get("spoolBytes").asLong()
                >= 3L * 16 * 1024 * 1024);
        await().atMost(Duration.ofSeconds(30)).until(() -> window(app).get("archive").get("lagBytes").asLong()
                >= 3L * 16 * 1024 * 1024); // the three switched segments are not in storage: lag
        s3.resume();
        Instant resumed = Instant.now();
        awaitCovered(app, resumed);
        await().atMost(Duration.ofSeconds(60)).until(() -> window(app).get("archive").get("spoolBytes").asLong()
                <= 16L * 1024 * 1024);
        await().atMost(Duration.ofSeconds(30)).until(() -> window(app).get("archive").get("lagBytes").asLong()
                < 16L * 1024 * 1024); // caught up: at most the segment being written
        PgServer server = restoreLatest(app, "after-outage");
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(3000);
    }
}
