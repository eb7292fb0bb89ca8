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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The set-up the README tells operators to use, not the tests' convenient one: the cluster asks
 * every connection, replication included, for a password (scram-sha-256; the service has it from
 * its configuration, nothing in its own environment), and the archiving host holds only the public
 * key. A second configuration, holding the private key, restores to a point.
 */
class ProductionSetupArchiveTest {
    private static final String BUCKET = "pitr";
    private static final String PASSWORD = "correct horse 'battery' $taple";
    private static final String PASSPHRASE = "restore host only";
    private ClusterApps fixture;
    private S3ProxyServer s3;
    private TestGpg gpg;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.startWithPassword("backstop-production-setup", PASSWORD);
        s3 = S3ProxyServer.start();
        s3.createBucket(BUCKET);
        gpg = TestGpg.create(PASSPHRASE);
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
        if (s3 != null) {
            s3.close();
        }
        if (gpg != null) {
            gpg.close();
        }
    }

    /** The archiving host's configuration (public key only), or the restoring host's ({@code privateKey}). */
    private DropwizardTestSupport<BackstopConfiguration> app(boolean privateKey) throws Exception {
        Path publicKey = gpg.exportPublicKey(fixture.dir.resolve("recipient.asc"));
        String encryption = "{recipientKeyFile: " + publicKey
                + (privateKey ? ", privateKeyFile: " + gpg.exportSecretKey(fixture.dir.resolve("secret.asc"))
                        + ", privateKeyPassphrase: \"" + PASSPHRASE + "\"" : "") + "}";
        return fixture.apps.start("""
                storage:
                  targets:
                    - {type: s3, name: s3, bucket: %s, endpoint: %s, pathStyleAccess: true, accessKeyId: %s, secretAccessKey: %s,
                       checksumMode: WHEN_REQUIRED}
                encryption: %s
                """.formatted(BUCKET, s3.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY, encryption)
                .replace("%", "%%"), fixture.source("partialUploadEvery: 1s").replace("%", "%%"));
    }

    private static JsonNode window(DropwizardTestSupport<BackstopConfiguration> app) {
        return Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
    }

    private static void awaitCovered(DropwizardTestSupport<BackstopConfiguration> app, Instant instant) {
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            JsonNode archive = window(app).get("archive");
            assertThat(archive.hasNonNull("coveredUntil") && Instant.parse(archive.get("coveredUntil").asText()).isAfter(instant))
                    .as("archive reaches past %s: %s", instant, archive).isTrue();
        });
    }

    @Test
    void archivesWithThePasswordAndOnlyThePublicKeyAndRestoresWhereThePrivateKeyIs() throws Exception {
        var app = app(false);
        awaitCovered(app, Instant.now()); // pg_receivewal connected with the configured password
        fixture.cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders SELECT generate_series(1, 100)");
        ClusterApps.snapshot(app); // pg_basebackup connects, and its WAL is archived without the private key
        var archiving = app;
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(Http.get(YamlApps.admin(archiving, "/"), null).body())
                .as("the status page's card of a postgres-cluster source").contains("<dt>Target</dt><dd>s3</dd>")
                .contains("<dt>Recoverable</dt><dd>from ").contains("<dt>Proven by a drill</dt><dd>")
                .contains("<dt>WAL receiver</dt><dd><span class=\"pass\">streaming</span>")
                .contains("<dt>Archive lag</dt>"));

        // The receiver's connection is cut: it is restarted with the same environment.
        assertThat(fixture.cluster.count("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication")).isPositive();
        fixture.cluster.sql("INSERT INTO orders SELECT generate_series(101, 200)");
        Instant point = fixture.cluster.now();
        fixture.cluster.sql("INSERT INTO orders SELECT generate_series(201, 300)", "SELECT pg_switch_wal()");
        awaitCovered(app, fixture.cluster.now());
        assertThat(window(app).get("archive").get("lastError").asText()).as("only the cut connection went wrong")
                .contains("terminating connection due to administrator command");
        fixture.apps.stop(app);

        // A segment that is already stored is found in the spool again (a crash between storing it
        // and removing it): the restarted service compares it through the digest recorded when it
        // was stored, without the private key, and lets it go.
        String stored = s3.blobStore().list(BUCKET, org.jclouds.blobstore.options.ListContainerOptions.Builder.recursive()).stream()
                .map(m -> m.getName()).filter(k -> k.startsWith("main/wal/00000001/") && k.endsWith("1.zst.pgp")).findFirst()
                .orElseThrow();
        Path spool = fixture.dir.resolve("staging/wal/main");
        String segment = stored.substring(stored.lastIndexOf('/') + 1, stored.lastIndexOf('/') + 25);
        Files.write(fixture.dir.resolve("again.zst.pgp"), s3.blobStore().getBlob(BUCKET, stored).getPayload().openStream().readAllBytes());
        gpg.decrypt(fixture.dir.resolve("again.zst.pgp"), fixture.dir.resolve("again.zst"));
        Shell.run(fixture.dir, "zstd -dq again.zst -o " + spool.resolve(segment));
        app = app(false);
        await().atMost(Duration.ofSeconds(60)).until(() -> !Files.exists(spool.resolve(segment)));
        fixture.cluster.sql("INSERT INTO orders SELECT generate_series(301, 400)");
        ClusterApps.snapshot(app);
        awaitCovered(app, fixture.cluster.now());
        assertThat(window(app).get("archive").get("lastError").isNull()).as(window(app).toString()).isTrue();
        fixture.apps.stop(app);

        var restorer = app(true);
        Path data = fixture.dir.resolve("restored");
        int port = TestCluster.freePort();
        Http.Reply accepted = Http.send("POST", YamlApps.api(restorer, "/restores"), TestTokens.OPERATOR, "application/json", """
                {"source": "main", "pointInTime": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": %d, "start": true}}
                """.formatted(point, data, port));
        JsonNode done = ClusterApps.awaitRestore(accepted);
        PgServer server = fixture.restored(data, port);
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(TestCluster.count(server, PASSWORD, "SELECT count(*) FROM orders")).isEqualTo(200);

        // The README's encrypted stock-tool recovery, with no Backstop: the passphrase-protected key
        // in the postgres user's keyring, gpg told the passphrase through loopback pinentry.
        Path tree = fixture.dir.resolve("s3-copy");
        for (var blob : s3.blobStore().list(BUCKET, org.jclouds.blobstore.options.ListContainerOptions.Builder.recursive())) {
            if (blob.getName().startsWith("main/") || blob.getName().startsWith("repository/")) {
                Path file = tree.resolve(blob.getName());
                Files.createDirectories(file.getParent());
                try (var in = s3.blobStore().getBlob(BUCKET, blob.getName()).getPayload().openStream()) {
                    Files.copy(in, file);
                }
            }
        }
        String dataKey = Http.get(YamlApps.api(restorer, "/restores/" + done.get("id").asText()), TestTokens.READER).json()
                .get("snapshotId").asText();
        dataKey = Http.get(YamlApps.api(restorer, "/snapshots/" + dataKey), TestTokens.READER).json().get("dataKey").asText();
        Path gnupg = fixture.dir.resolve("stock-pitr-gpg/gnupg");
        try {
            PgServer stock = fixture.stockToolRecovery("stock-pitr-gpg", tree.resolve("main"), dataKey,
                    "main/2026/12/02/<id>/data.tar.chunks.jsonl", point, work -> {
                        Files.createDirectories(gnupg, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
                        Files.writeString(work.resolve("passphrase"), PASSPHRASE + "\n");
                        Files.copy(fixture.dir.resolve("secret.asc"), work.resolve("restore-key.asc"));
                    }, java.util.Map.of("GNUPGHOME", gnupg.toString()));
            assertThat(TestCluster.count(stock, PASSWORD, "SELECT count(*) FROM orders")).isEqualTo(200);
        } finally {
            Shell.run(fixture.dir, String.join(" ", TestCluster.tools().asServerUser(java.util.List.of("gpgconf", "--homedir",
                    gnupg.toString(), "--kill", "gpg-agent"))) + " || true");
        }
    }
}
