package dev.backstop.source.pgcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The commit scan over captured pg_waldump output: no server, no WAL. */
class CommitScanTest {
    private static final long SEGMENT = 16L << 20;

    private static String line(String lsn, String desc) {
        return "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: " + lsn + ", prev 0/01580D70, desc: " + desc;
    }

    @Test
    void readsCommitsAbortsAndPreparedOnesAndNothingElse() {
        assertThat(CommitScan.parse(line("0/01580DA8", "COMMIT 2026-12-05 09:04:02.454970 UTC")))
                .isEqualTo(new CommitScan.Transaction(Instant.parse("2026-12-05T09:04:02.454970Z"), 0x01580DA8L));
        assertThat(CommitScan.parse(line("0/1000028", "ABORT 2026-12-05 09:04:03 UTC")).at())
                .isEqualTo(Instant.parse("2026-12-05T09:04:03Z"));
        assertThat(CommitScan.parse(line("1/00000028", "COMMIT_PREPARED 742: 2026-12-05 09:04:04.5 UTC; inval msgs: catcache 7")))
                .isEqualTo(new CommitScan.Transaction(Instant.parse("2026-12-05T09:04:04.5Z"), 0x100000028L));
        assertThat(CommitScan.parse("rmgr: Heap        len (rec/tot):     54/   254, tx:        735, lsn: 0/01580D70, desc: INSERT off 3"))
                .isNull();
        assertThat(CommitScan.parse(line("0/01580DA8", "PREPARE gid t1: 2026-12-05 09:04:02 UTC"))).isNull();
        assertThat(CommitScan.parse(line("2/0000A0", "ABORT_PREPARED 9: 2026-12-05 09:04:05.000001 UTC; rels: base/5/16384")))
                .isEqualTo(new CommitScan.Transaction(Instant.parse("2026-12-05T09:04:05.000001Z"), 0x2000000A0L));
        assertThat(CommitScan.parse(line("0/01580DA8", "COMMIT 2026-12-05 09:04 UTC"))).as("no seconds").isNull();
        assertThat(CommitScan.parse(line("0/01580DA8", "COMMIT 2026-13-05 09:04:02 UTC"))).as("no such month").isNull();
        assertThat(CommitScan.parse(line("0/01580DA8", "COMMIT 2026-12-05 09:04:02. UTC"))).as("no fraction digits").isNull();
        assertThat(CommitScan.parse(line("0/01580DA8", "COMMIT 2026-12-05 09:04:02.5 CET"))).as("not UTC").isNull();
        assertThat(CommitScan.parse(line("0/01580DA8", "COMMIT_PREPARED x: 2026-12-05 09:04:02 UTC"))).isNull();
        assertThat(CommitScan.parse("desc: COMMIT 2026-12-05 09:04:02 UTC")).as("no LSN").isNull();
    }

    @Test
    void thePointIsTheLastTransactionBeforeTheFirstAfterTheTarget() throws IOException {
        Instant target = Instant.parse("2026-12-05T10:00:00Z");
        CommitScan scan = new CommitScan(0, target);
        feed(scan, 0, false, at("09:58:00", SEGMENT / 2), at("09:59:00", SEGMENT - 100));
        feed(scan, 1, false, at("09:59:30", SEGMENT + 10), at("10:00:01", SEGMENT + 20), at("09:59:59", SEGMENT + 30));
        feed(scan, 2, false, at("09:59:58", 2 * SEGMENT + 10)); // after the stop: never replayed

        CommitScan.Expected expected = scan.expected(List.of("s0", "s1", "s2"));
        assertThat(expected.point()).isEqualTo(Instant.parse("2026-12-05T09:59:30Z"));
        assertThat(expected.segment()).isEqualTo("s1");
        assertThat(scan.reachedFurther(expected.point(), expected)).isFalse();
        assertThat(scan.reachedFurther(Instant.parse("2026-12-05T09:59:40Z"), expected))
                .as("the server reached further than the scan saw: its word stands").isTrue();
        assertThatThrownBy(() -> scan.reachedFurther(Instant.parse("2026-12-05T09:59:00Z"), expected))
                .hasMessageContaining("recovery stopped short: it reached 2026-12-05T09:59:00Z")
                .hasMessageContaining("holds a transaction at 2026-12-05T09:59:30Z in s1 (the last before the point)");
        assertThatThrownBy(() -> scan.reachedFurther(null, expected)).hasMessageContaining("it reached no transaction");
    }

    @Test
    void withoutATargetThePointIsTheLastTransactionOfAllAndOneBeforeTheBaseBackupDoesNotCount() throws IOException {
        CommitScan scan = new CommitScan(SEGMENT / 2, null);
        feed(scan, 0, false, at("09:00:00", 100), at("09:00:01", SEGMENT / 2 + 8));
        feed(scan, 1, false);
        assertThat(scan.expected(List.of("s0", "s1")).point()).isEqualTo(Instant.parse("2026-12-05T09:00:01Z"));

        CommitScan before = new CommitScan(SEGMENT / 2, null);
        feed(before, 0, false, at("09:00:00", 100));
        assertThat(before.expected(List.of("s0")).point()).as("before the backup's start: not replayed").isNull();
        assertThat(before.reachedFurther(null, before.expected(List.of("s0")))).isFalse();
        assertThatThrownBy(() -> new CommitScan(0, null).reachedFurther(null,
                new CommitScan.Expected(Instant.parse("2026-12-05T09:00:00Z"), "s0", null))).hasMessageContaining("(its last)");
    }

    @Test
    void theEndOfTheSegmentBeforeReadAgainWithTheNextGoesOnFoldingItsSummary() {
        Instant target = Instant.parse("2026-12-05T09:00:04Z");
        CommitScan scan = new CommitScan(0, target);
        // Segment 0 alone: the record crossing into segment 1 (09:00:03, at SEGMENT - 40) cannot be read.
        feed(scan, 0, false, at("09:00:00", SEGMENT - 3000));
        // Segment 1 with the end of segment 0: the transaction read before comes again, once in the summary.
        feed(scan, 1, true, at("09:00:00", SEGMENT - 3000), at("09:00:03", SEGMENT - 40), at("09:00:05", SEGMENT + 40));
        CommitScan.Expected expected = scan.expected(List.of("s0", "s1"));
        assertThat(expected.point()).isEqualTo(Instant.parse("2026-12-05T09:00:03Z"));
        assertThat(expected.segment()).isEqualTo("s0");

        CommitScan latest = new CommitScan(0, null);
        feed(latest, 0, false, at("09:00:00", SEGMENT - 3000));
        feed(latest, 1, true, at("09:00:03", SEGMENT - 40), at("09:00:05", SEGMENT + 40));
        assertThat(latest.expected(List.of("s0", "s1")).point()).isEqualTo(Instant.parse("2026-12-05T09:00:05Z"));
    }

    @Test
    void aSegmentNotScannedLeavesThePointUnknown() {
        CommitScan scan = new CommitScan(0, null);
        feed(scan, 0, false, at("09:00:00", 100));
        CommitScan.Expected expected = scan.expected(List.of("000000010000000000000001", "000000010000000000000002"));
        assertThat(expected.unscanned()).isEqualTo("000000010000000000000002");
        assertThat(expected.point()).isNull();
    }

    private static CommitScan.Transaction at(String time, long lsn) {
        return new CommitScan.Transaction(Instant.parse("2026-12-05T" + time + "Z"), lsn);
    }

    private static void feed(CommitScan scan, int index, boolean withPrevious, CommitScan.Transaction... transactions) {
        CommitScan.SegmentFold fold = scan.segment(index, index * SEGMENT, withPrevious);
        for (CommitScan.Transaction t : transactions) {
            fold.accept(t);
        }
        fold.finish();
    }
}
