package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.source.ArchivedLog.LogGap;
import dev.backstop.source.ArchivedLog.LogWindow;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The window lists every range that restores, not only the newest (issue 22, item 2): plain units over rows and gaps. */
class RecoverableRangesTest {
    private static final Instant T = Instant.parse("2026-12-05T00:00:00Z");

    private static Instant at(int minutes) {
        return T.plusSeconds(60L * minutes);
    }

    /** A COMPLETED base backup from minute {@code start} to {@code end}. */
    private static SnapshotRow base(int start, int end) {
        return SnapshotRow.running("s" + start, "main", "postgres-cluster", SnapshotOrigin.SCHEDULE, "test", at(start))
                .completed(at(end), 1, 1, "a".repeat(64), "local", "k", "m", "zstd-3", null, "{}", 0, 0);
    }

    private static List<PointInTimeWindows.Range> ranges(Instant until, List<LogGap> gaps, Instant logFrom, SnapshotRow... rows) {
        return PointInTimeWindows.ranges(new LogWindow(until, gaps, null, logFrom), List.of(rows));
    }

    @Test
    void withoutAGapOneRangeFromTheOldestBaseBackupsEnd() {
        assertThat(ranges(at(100), List.of(), null, base(10, 12), base(50, 52)))
                .containsExactly(new PointInTimeWindows.Range(at(12), at(100)));
        assertThat(ranges(null, List.of(), null, base(10, 12))).as("nothing archived yet").isEmpty();
        assertThat(ranges(at(100), List.of(), null)).as("no base backup yet").isEmpty();
    }

    @Test
    void aGapEndsTheRangeBeforeItWhereTheLogReachedAndTheNextStartsAtTheFirstBaseBackupAfterIt() {
        // WAL lost, found at minute 40; the log before it reached minute 35; a base backup followed at 41.
        List<LogGap> gap = List.of(new LogGap(at(40), at(35)));
        assertThat(ranges(at(100), gap, null, base(10, 12), base(41, 43), base(60, 62))).containsExactly(
                new PointInTimeWindows.Range(at(12), at(35)), new PointInTimeWindows.Range(at(43), at(100)));
        assertThat(ranges(at(100), gap, null, base(10, 12))).as("no base backup since the gap yet")
                .containsExactly(new PointInTimeWindows.Range(at(12), at(35)));
        assertThat(ranges(at(100), gap, null, base(30, 37), base(41, 43))).as("a base backup that ended after the log's reach")
                .containsExactly(new PointInTimeWindows.Range(at(43), at(100)));
    }

    @Test
    void retentionsCutHidesTheRangesOfBaseBackupsWhoseLogWasDeleted() {
        List<LogGap> gap = List.of(new LogGap(at(40), at(35)));
        assertThat(ranges(at(100), gap, at(41), base(10, 12), base(41, 43)))
                .containsExactly(new PointInTimeWindows.Range(at(43), at(100)));
    }
}
