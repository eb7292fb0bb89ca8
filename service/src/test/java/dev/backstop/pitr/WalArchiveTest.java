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

    private void app() throws Exception {
        fixture.startApp("partialUploadEvery: 1s");
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
}
