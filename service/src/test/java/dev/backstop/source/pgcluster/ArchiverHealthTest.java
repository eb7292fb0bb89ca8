package dev.backstop.source.pgcluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.source.SourceCondition;
import dev.backstop.source.SourceCondition.Level;
import io.dropwizard.util.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The WAL archiver's health conditions and API state, from views made by hand: no server, no clock. */
class ArchiverHealthTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    private static final ClusterSourceFactory CONFIG = new ClusterSourceFactory(null, "127.0.0.1", 5432, "backstop_repl", null, null,
            java.nio.file.Path.of("/usr/lib/postgresql/15/bin"), null, "backstop_main", null, Duration.seconds(10), null,
            io.dropwizard.util.DataSize.mebibytes(64));

    private static WalArchive.Status covered(Instant until) {
        return new WalArchive.Status("7000000000000000001", 16L << 20, 1, "000000010000000000000007", null, until, List.of(), null, null);
    }

    /** A healthy view: streaming, the archive 5 s behind, 1 MiB of lag, no slot limit. */
    private static ArchiverView streaming() {
        return new ArchiverView(true, true, null, null, null, 0, covered(NOW.minusSeconds(5)),
                new ServerPositions.Positions(200L << 20, 199L << 20, "physical"), 199L << 20, 1L << 20, 1L << 20, -1, -1);
    }

    private static Map<String, SourceCondition> byName(List<SourceCondition> conditions) {
        return conditions.stream().collect(java.util.stream.Collectors.toMap(SourceCondition::measurement, c -> c));
    }

    @Test
    void aStreamingArchiverCloseBehindPassesEveryCheck() {
        Map<String, SourceCondition> c = byName(ArchiverHealth.conditions(streaming(), CONFIG, NOW));
        assertThat(c.keySet()).containsExactlyInAnyOrder("walReceiver", "walArchiveLag", "replicationSlot", "recoverableUntilAge");
        assertThat(c.values()).allMatch(x -> x.level() == Level.PASS);
        assertThat(c.get("recoverableUntilAge").value()).isEqualTo(5L);
    }

    @Test
    void aReceiverDownWarnsThenFailsAfterItsGrace() {
        ArchiverView down = new ArchiverView(false, false, null, NOW.minusSeconds(20), "connection refused", 0,
                covered(NOW.minusSeconds(20)), null, -1, -1, -1, -2, -1);
        SourceCondition receiver = byName(ArchiverHealth.conditions(down, CONFIG, NOW)).get("walReceiver");
        assertThat(receiver.level()).isEqualTo(Level.WARN);
        assertThat(receiver.output()).contains("not streaming (for 20 s): connection refused");
        ArchiverView longDown = new ArchiverView(false, false, null, NOW.minusSeconds(61), null, 0, covered(NOW.minusSeconds(61)),
                null, -1, -1, -1, -2, -1);
        assertThat(byName(ArchiverHealth.conditions(longDown, CONFIG, NOW)).get("walReceiver").level()).isEqualTo(Level.FAIL);
        assertThat(byName(ArchiverHealth.conditions(longDown, CONFIG, NOW)).get("recoverableUntilAge").level())
                .as("61 s is beyond 2 x 10 s + 30 s").isEqualTo(Level.WARN);
    }

    @Test
    void standingByForAnotherNodePassesAndSaysSo() {
        ArchiverView standby = new ArchiverView(false, false, NOW.minusSeconds(300), NOW.minusSeconds(300), null, 0,
                covered(NOW.minusSeconds(3)), null, -1, -1, -1, -2, -1);
        SourceCondition receiver = byName(ArchiverHealth.conditions(standby, CONFIG, NOW)).get("walReceiver");
        assertThat(receiver.level()).isEqualTo(Level.PASS);
        assertThat(receiver.output()).contains("standing by since").contains("streamed by another client");
        assertThat(ArchiverHealth.state(standby, "backstop_main").receiver()).isEqualTo("standby");
    }

    @Test
    void lagAboveWalLagWarnAndASlotNearItsLimitWarn() {
        ArchiverView behind = new ArchiverView(true, true, null, null, null, 0, covered(NOW.minusSeconds(5)),
                new ServerPositions.Positions(900L << 20, 100L << 20, "physical"), 100L << 20, 800L << 20, 800L << 20, 900L << 20,
                100L << 20);
        Map<String, SourceCondition> c = byName(ArchiverHealth.conditions(behind, CONFIG, NOW));
        assertThat(c.get("walArchiveLag").level()).isEqualTo(Level.WARN);
        assertThat(c.get("replicationSlot").level()).as("100 MiB left of 900 MiB is under a fifth").isEqualTo(Level.WARN);
        assertThat(c.get("replicationSlot").output()).contains("max_slot_wal_keep_size");
    }

    @Test
    void nothingArchivedYetIsAWarningAndTheStateSaysWhatIsUnknown() {
        ArchiverView fresh = new ArchiverView(false, false, null, null, null, 0, null, null, -1, -1, -1, -2, -1);
        assertThat(byName(ArchiverHealth.conditions(fresh, CONFIG, NOW)).get("recoverableUntilAge").output())
                .isEqualTo("no WAL is archived yet");
        ArchiveState state = ArchiverHealth.state(fresh, "backstop_main");
        assertThat(state.receiver()).isEqualTo("down");
        assertThat(state.slotState()).isEqualTo("unknown");
        assertThat(state.archivedLsn()).isNull();
        assertThat(state.slotWalKeepLimitBytes()).isNull();
        assertThat(state.gaps()).isEmpty();
    }
}
