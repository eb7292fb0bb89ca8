package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.BackstopConfiguration;
import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.support.ClusterApps;
import dev.backstop.support.Http;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A source that moves onto a new timeline (a failover: the server is promoted) keeps one
 * recoverable chain: the history file is archived, the old timeline's last partial segment is
 * stored and leaves the spool, and restores from a base backup taken before the switch follow the
 * history onto the new timeline, to a point on it or to its end.
 */
class TimelineTest {

    private ClusterApps fixture;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.start("backstop-timeline");
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    private Http.Reply restore(DropwizardTestSupport<BackstopConfiguration> app, String pointInTime, Path data, int port) {
        return Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", """
                {"source": "main", "pointInTime": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": %d, "start": true}}
                """.formatted(pointInTime, data, port));
    }

    private PgServer restored(DropwizardTestSupport<BackstopConfiguration> app, String pointInTime, String name) throws Exception {
        Path data = fixture.dir.resolve(name);
        int port = TestCluster.freePort();
        JsonNode done = ClusterApps.awaitRestore(restore(app, pointInTime, data, port));
        PgServer server = fixture.restored(data, port);
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        return server;
    }


    @Test
    void restoresFromABaseBackupBeforeAPromotionFollowTheHistoryOntoTheNewTimeline() throws Exception {
        TestCluster cluster = fixture.cluster;
        var app = fixture.startApp("partialUploadEvery: 1s");
        fixture.awaitCovered(Instant.now());
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        String baseBackup = ClusterApps.snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (2)");
        fixture.awaitCovered(Instant.now());

        assertThat(cluster.promoteToNewTimeline()).isEqualTo(2);
        cluster.sql("INSERT INTO orders VALUES (3)");
        Instant between = fixture.cluster.now();
        cluster.sql("INSERT INTO orders VALUES (4)");
        fixture.awaitCovered(Instant.now());

        Path wal = fixture.dir.resolve("backups/main/wal");
        JsonNode status = new ObjectMapper().readTree(wal.resolve("status.json").toFile());
        assertThat(status.get("timeline").asInt()).as(status.toString()).isEqualTo(2);
        assertThat(status.get("gaps")).as(status.toString()).isEmpty();
        assertThat(wal.resolve("history/00000002.history.zst")).exists();
        try (Stream<Path> spool = Files.list(fixture.dir.resolve("staging/wal/main"))) {
            assertThat(spool.map(f -> f.getFileName().toString())).as("the old timeline's last partial segment left the spool")
                    .noneMatch(n -> n.startsWith("00000001"));
        }

        PgServer latest = restored(app, "latest", "latest");
        assertThat(TestCluster.count(latest, "SELECT count(*) FROM orders")).isEqualTo(4);
        assertThat(TestCluster.count(latest, "SELECT (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int)"))
                .as("the restored copy branches off the source's newest timeline").isEqualTo(3);

        PgServer atPoint = restored(app, between.toString(), "at-point");
        assertThat(TestCluster.count(atPoint, "SELECT count(*) FROM orders")).isEqualTo(3);
        assertThat(TestCluster.count(atPoint, "SELECT max(id) FROM orders")).isEqualTo(3);

        PgServer stock = fixture.stockToolRecovery(app, baseBackup, between);
        assertThat(TestCluster.count(stock, "SELECT count(*) FROM orders")).as("the README's stock-tool block follows the timeline too")
                .isEqualTo(3);
    }
}
