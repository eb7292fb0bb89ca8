package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.support.TestCluster;
import org.junit.jupiter.api.Test;

/**
 * {@code pg_ctl -W start} returns before the postmaster has written its pid file: a stop that
 * follows at once (a restore cancelled just as its server starts) must still find and stop it, or
 * the server goes on writing into a directory that is being removed.
 */
class PgServerTest {
    @Test
    void aStopRightAfterTheStartStopsTheServer() throws Exception {
        try (TestCluster cluster = TestCluster.start()) {
            cluster.server().stop("fast");
            for (int round = 0; round < 3; round++) {
                PgServer server = new PgServer(TestCluster.tools(), cluster.dataDirectory(), cluster.port());
                server.start();
                server.stop("immediate");
                assertThat(new PgServer(TestCluster.tools(), cluster.dataDirectory(), cluster.port()).running())
                        .as("round %d: a postmaster is left", round).isFalse();
                assertThat(cluster.dataDirectory().resolve("postmaster.pid")).doesNotExist();
            }
        }
    }
}
