package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.support.ClusterApps;
import dev.backstop.support.TestCluster;
import dev.backstop.support.YamlApps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The WAL archive of a postgres-cluster source, against a private PostgreSQL 15 cluster and a filesystem target. */
class WalArchiveTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ClusterApps fixture;
    private TestCluster cluster;
    private Path dir;
    private YamlApps apps;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.start("backstop-wal");
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

    private io.dropwizard.testing.DropwizardTestSupport<dev.backstop.BackstopConfiguration> app() throws Exception {
        return fixture.startApp("partialUploadEvery: 1s");
    }

    private static JsonNode check(io.dropwizard.testing.DropwizardTestSupport<dev.backstop.BackstopConfiguration> app, String name) {
        return dev.backstop.support.Http.get(YamlApps.admin(app, "/health/detailed"), null).json().get("checks").path(name).path(0);
    }

    private Path walDir() {
        return dir.resolve("backups/main/wal/00000001");
    }

    private List<String> stored() throws Exception {
        if (!Files.isDirectory(walDir())) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(walDir())) {
            return files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    private JsonNode status() throws Exception {
        Path file = dir.resolve("backups/main/wal/status.json");
        return Files.exists(file) ? JSON.readTree(file.toFile()) : null;
    }

    private String switchWal() throws Exception {
        try (var c = cluster.connect(); var s = c.createStatement();
                var r = s.executeQuery("SELECT pg_walfile_name(pg_current_wal_lsn()), pg_switch_wal()")) {
            r.next();
            return r.getString(1);
        }
    }

    @Test
    void completedSegmentsAreStoredAndLeaveTheSpoolAndThePartialOneIsStoredUntilNow() throws Exception {
        app();
        // The receiver streams before the switch: WAL switched away before the slot exists is never
        // streamed (the slot starts at the server's position then), which failed this test under load.
        fixture.awaitCovered(Instant.now());
        cluster.sql("CREATE TABLE t (i int)", "INSERT INTO t SELECT generate_series(1, 1000)");
        String first = switchWal();
        await().atMost(Duration.ofSeconds(60)).until(() -> stored().contains(first + ".zst"));
        Path spool = dir.resolve("staging/wal/main");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            try (Stream<Path> files = Files.list(spool)) {
                return files.noneMatch(p -> p.getFileName().toString().equals(first));
            }
        });
        assertThat(dir.resolve("backups/main/cluster.json")).exists();

        Instant before = Instant.now();
        cluster.sql("INSERT INTO t VALUES (1001)");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode s = status();
            return s != null && s.hasNonNull("coveredUntil") && Instant.parse(s.get("coveredUntil").asText()).isAfter(before);
        });
        JsonNode s = status();
        assertThat(s.get("lastSegment").asText()).isGreaterThanOrEqualTo(first);
        assertThat(stored()).anyMatch(n -> n.endsWith(".partial.zst"));
    }

    /**
     * A receiver that is alive but receives nothing (stopped with SIGSTOP, as a stalled connection
     * would leave it) must not let the archive claim commits it does not hold: the reach stays
     * before a commit made meanwhile, through several partial uploads, and passes it once the
     * receiver goes on.
     */
    @Test
    void aStalledReceiverDoesNotAdvanceTheRecoverablePoint() throws Exception {
        app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)");
        fixture.awaitCovered(Instant.now());
        String receiver = "pg_receivewal.*--port=" + cluster.port() + " ";
        dev.backstop.support.Shell.run(dir, "pkill -STOP -f '" + receiver + "'");
        try {
            cluster.sql("INSERT INTO orders VALUES (1)");
            Instant committed = Instant.now();
            Path file = dir.resolve("backups/main/wal/status.json");
            // Several partial uploads (status.json is rewritten by each) after the commit.
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.getLastModifiedTime(file).toInstant()
                    .isAfter(committed.plusSeconds(4)));
            assertThat(Instant.parse(status().get("coveredUntil").asText())).as(status().toString()).isBefore(committed);
        } finally {
            dev.backstop.support.Shell.run(dir, "pkill -CONT -f '" + receiver + "'");
        }
        fixture.awaitCovered(Instant.now());
    }

    /**
     * The slot against the server's max_slot_wal_keep_size (set at run time: no restart): a
     * receiver that stops confirming lets the slot retain WAL until it is within a fifth of the
     * limit, which is a WARN with the bytes left, before PostgreSQL would invalidate the slot.
     */
    @Test
    void aSlotNearMaxSlotWalKeepSizeIsAWarningWithTheBytesLeft() throws Exception {
        var app = app();
        fixture.awaitCovered(Instant.now());
        cluster.sql("ALTER SYSTEM SET max_slot_wal_keep_size = '128MB'", "SELECT pg_reload_conf()");
        String pitr = YamlApps.api(app, "/sources/main/pitr");
        await().atMost(Duration.ofSeconds(60)).until(() -> dev.backstop.support.Http.get(pitr, dev.backstop.support.TestTokens.READER)
                .json().get("archive").path("slotWalKeepLimitBytes").asLong() == 128L << 20);
        assertThat(check(app, "source:replicationSlot").get("status").asText()).isEqualTo("pass");

        String receiver = "pg_receivewal.*--port=" + cluster.port() + " ";
        dev.backstop.support.Shell.run(dir, "pkill -STOP -f '" + receiver + "'");
        try {
            cluster.sql("CREATE TABLE t (i int)");
            for (int i = 0; i < 7; i++) { // seven segments: 112 MiB retained, 16 MiB short of the limit
                cluster.sql("INSERT INTO t VALUES (" + i + ")");
                switchWal();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> check(app, "source:replicationSlot").get("status").asText()
                    .equals("warn"));
            JsonNode warn = check(app, "source:replicationSlot");
            assertThat(warn.get("observedValue").asLong()).as(warn.toString()).isLessThan((128L << 20) / 5).isPositive();
            assertThat(warn.get("output").asText()).contains("max_slot_wal_keep_size");
            String scrape = dev.backstop.support.Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
            assertThat(scrape).contains("backstop_replication_slot_wal_keep_limit_bytes{source=\"main\"}")
                    .contains("backstop_replication_slot_safe_wal_size_bytes{source=\"main\"}");
        } finally {
            dev.backstop.support.Shell.run(dir, "pkill -CONT -f '" + receiver + "'");
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> check(app, "source:replicationSlot").get("status").asText().equals("pass"));
    }

    private static JsonNode archive(io.dropwizard.testing.DropwizardTestSupport<dev.backstop.BackstopConfiguration> app) {
        return dev.backstop.support.Http.get(YamlApps.api(app, "/sources/main/pitr"), dev.backstop.support.TestTokens.READER).json()
                .get("archive");
    }


    /**
     * Two nodes archive the same source into the same target (a clustered Backstop): the one that
     * holds the slot streams, the other stands by (healthy, not "down") and shows the streaming
     * node's reach; when the first goes away the second takes the slot over and the chain goes on
     * without a gap: the README's stock-tool recovery from the first node's base backup reaches a
     * point the second node archived.
     */
    @Test
    void aSecondNodeStandsByAndTakesTheSlotOverWithoutAGap() throws Exception {
        var nodeA = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        String dataKey = dev.backstop.support.Http.get(YamlApps.api(nodeA, "/snapshots/" + ClusterApps.snapshot(nodeA)),
                dev.backstop.support.TestTokens.READER).json().get("dataKey").asText();
        fixture.awaitCovered(Instant.now());
        Path dirB = TestCluster.openDirectory("backstop-node-b");
        Instant between;
        try (YamlApps appsB = new YamlApps(dirB)) {
            var nodeB = appsB.start("storage:\n  targets:\n    - {type: filesystem, name: local, path: " + dir + "/backups}\n",
                    fixture.source("partialUploadEvery: 1s").replace("%", "%%"));
            await().atMost(Duration.ofSeconds(60)).until(() -> archive(nodeB).get("receiver").asText().equals("standby"));
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(check(nodeB, "source:walReceiver").path("status")
                    .asText()).as(dev.backstop.support.Http.get(YamlApps.admin(nodeB, "/health/detailed"), null).body()).isEqualTo("pass"));
            assertThat(dev.backstop.support.Http.get(YamlApps.admin(nodeB, "/metrics/prometheus"), null).body())
                    .contains("backstop_wal_receiver_standby{source=\"main\"} 1.0").contains("backstop_wal_receiver_up{source=\"main\"} 0.0");
            cluster.sql("INSERT INTO orders VALUES (2)");
            switchWal(); // the streaming node stores a segment the standby has not seen
            Instant two = Instant.now();
            fixture.awaitCovered(two);
            await().atMost(Duration.ofSeconds(30)).until(() -> archive(nodeB).hasNonNull("coveredUntil")
                    && Instant.parse(archive(nodeB).get("coveredUntil").asText()).isAfter(two));
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(check(nodeB, "source:recoverableUntilAge").path("status")
                    .asText()).as("the standby reads the streaming node's reach").isEqualTo("pass"));

            apps.stop(nodeA);
            await().atMost(Duration.ofSeconds(60)).until(() -> archive(nodeB).get("receiver").asText().equals("streaming"));
            await().atMost(Duration.ofSeconds(10)).until(() -> dev.backstop.support.Http.get(YamlApps.admin(nodeB, "/metrics/prometheus"),
                    null).body().contains("backstop_wal_receiver_standby{source=\"main\"} 0.0"));
            cluster.sql("INSERT INTO orders SELECT generate_series(3, 100)");
            switchWal();
            cluster.sql("INSERT INTO orders VALUES (101)");
            between = cluster.now();
            cluster.sql("INSERT INTO orders VALUES (102)");
            fixture.awaitCovered(Instant.now());
            JsonNode s = status();
            assertThat(s.get("gaps")).as(s.toString()).isEmpty();
            appsB.stop(nodeB);
        } finally {
            dev.backstop.source.FileTrees.delete(dirB);
        }
        var recovered = fixture.stockToolRecovery(dataKey, between);
        assertThat(TestCluster.count(recovered, "SELECT count(*) FROM orders")).isEqualTo(101);
    }
}
