package dev.backstop.source.pgcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pure parts of the WAL archive, without a cluster: names and positions as PostgreSQL spells
 * them, history files, the sizes the server SHOWs, and what pg_receivewal's errors mean.
 */
class WalNamesTest {
    private static final long SIXTEEN_MIB = 16L << 20;

    @Test
    void lsnsParseAndPrintAsPostgresSpellsThem() {
        assertThat(Wal.lsn("0/4000060")).isEqualTo(0x4000060L);
        assertThat(Wal.lsn("16/B374D848")).isEqualTo((0x16L << 32) | 0xB374D848L);
        assertThat(Wal.lsn(Wal.lsn("16/B374D848"))).isEqualTo("16/B374D848");
        assertThatThrownBy(() -> Wal.lsn("B374D848")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an LSN");
    }

    @Test
    void segmentNamesCountAcrossTheLogIdBoundary() {
        assertThat(Wal.segmentName(1, Wal.lsn("0/4000060"), SIXTEEN_MIB)).isEqualTo("000000010000000000000004");
        assertThat(Wal.next("0000000100000000000000FF", SIXTEEN_MIB)).isEqualTo("000000010000000100000000");
        assertThat(Wal.previous("000000010000000100000000", SIXTEEN_MIB)).isEqualTo("0000000100000000000000FF");
        assertThat(Wal.segmentNumber("000000010000000100000002", SIXTEEN_MIB)).isEqualTo(258);
        assertThat(Wal.timeline("0000000A0000000000000003")).isEqualTo(10);
        assertThat(Wal.timelineDirectory(10)).isEqualTo("0000000A");
        assertThat(Wal.SEGMENT.matcher("000000010000000000000004").matches()).isTrue();
        assertThat(Wal.HISTORY.matcher("00000002.history").matches()).isTrue();
    }

    @Test
    void historyFilesListTheSwitchesOldestFirst() {
        String history = "1\t0/3000158\tno recovery target specified\n\n# a comment\n2\t0/5000000\tat restore point\n";
        assertThat(Wal.switches(history)).containsExactly(new Wal.Switch(1, 0x3000158L), new Wal.Switch(2, 0x5000000L));
        assertThatThrownBy(() -> Wal.switches("garbage\n")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sizesAsTheServerShowsThem() {
        assertThat(ServerPositions.memoryBytes("16MB")).isEqualTo(SIXTEEN_MIB);
        assertThat(ServerPositions.memoryBytes("1GB")).isEqualTo(1L << 30);
        assertThat(ServerPositions.memoryBytes("-1")).isEqualTo(-1);
        assertThat(ServerPositions.memoryBytes("512kB")).isEqualTo(512L << 10);
        assertThat(ServerPositions.memoryBytes("1024MB")).isEqualTo(1L << 30);
        assertThat(ServerPositions.memoryBytes("50GB")).isEqualTo(50L << 30);
        assertThat(ServerPositions.memoryBytes("2TB")).isEqualTo(2L << 40);
        assertThat(ServerPositions.memoryBytes("64")).as("a bare number is in MB, max_slot_wal_keep_size's unit").isEqualTo(64L << 20);
        assertThatThrownBy(() -> ServerPositions.memoryBytes("lots")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void whatPgReceivewalsErrorsMean() {
        for (String lost : List.of("requested WAL segment 000000010000000000000003 has already been removed",
                "replication slot \"backstop_main\" has been invalidated", "this slot was invalidated because it exceeded")) {
            assertThat(WalReceiver.serverLostWal(lost)).as(lost).isTrue();
        }
        assertThat(WalReceiver.serverLostWal("connection refused")).isFalse();
        assertThat(WalReceiver.slotHeldElsewhere("replication slot \"backstop_main\" is active for PID 4242")).isTrue();
        assertThat(WalReceiver.slotHeldElsewhere("fe_sendauth: no password supplied")).isFalse();
    }
}
