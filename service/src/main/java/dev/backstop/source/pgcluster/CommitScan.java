package dev.backstop.source.pgcluster;

import java.io.IOException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where recovery must stop, read from {@code pg_waldump --rmgr=Transaction} output of the segments
 * as they are fetched: per segment, its last transaction before the first one after the target (its
 * last one, without a target) and whether it holds one after the target. Pure: fed with lines,
 * unit-tested with captured output; {@link #check} compares the point the server reached.
 */
final class CommitScan {
    /**
     * A transaction's end as pg_waldump prints it (in UTC): the records recovery stops at for a
     * target time and whose time {@code pg_last_xact_replay_timestamp()} reports.
     */
    private static final Pattern TRANSACTION = Pattern.compile("lsn: ([0-9A-F]+/[0-9A-F]+), .*desc: (?:COMMIT|ABORT)"
            + "(?:_PREPARED \\d+:)? (\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?) UTC");
    private static final DateTimeFormatter PG_TIME = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss").optionalStart()
            .appendFraction(ChronoField.NANO_OF_SECOND, 1, 9, true).optionalEnd().toFormatter();

    /** A transaction's end: its time and LSN. */
    record Transaction(Instant at, long lsn) {}

    /**
     * What one segment says about the point: its last transaction before the target, whether it
     * passes the target, and the LSN of the last transaction folded (0: none), from which a read of
     * its end together with the next segment goes on.
     */
    record Scanned(Instant lastBefore, boolean passesTarget, long foldedLsn) {}

    private final long startLsn;
    private final Instant target;
    private final Map<Integer, Scanned> scanned = new ConcurrentHashMap<>();

    /**
     * @param startLsn the base backup's start: transactions before it are not replayed
     * @param target   the point in time (null: the archive's end)
     */
    CommitScan(long startLsn, Instant target) {
        this.startLsn = startLsn;
        this.target = target;
    }

    /** The transaction end a line of pg_waldump's output reports, or null for any other line. */
    static Transaction parse(String line) {
        Matcher m = TRANSACTION.matcher(line);
        return m.find() ? new Transaction(LocalDateTime.parse(m.group(2), PG_TIME).toInstant(ZoneOffset.UTC), Wal.lsn(m.group(1)))
                : null;
    }

    /**
     * Reads segment {@code index} (it starts at {@code segmentStart}): feed its transactions in order
     * to the returned fold, then {@link SegmentFold#finish()}. With {@code withPrevious}, they are
     * read together with the end of the previous segment (a record that begins there and ends here
     * is only readable from both): those before {@code segmentStart} that the previous segment's own
     * read did not reach go on folding into its summary.
     */
    SegmentFold segment(int index, long segmentStart, boolean withPrevious) {
        return new SegmentFold(index, segmentStart, withPrevious);
    }

    /** One segment's (and maybe its predecessor's) transactions, folded as they stream from pg_waldump. */
    final class SegmentFold implements java.util.function.Consumer<Transaction> {
        private final int index;
        private final long segmentStart;
        private final boolean withPrevious;
        private final Fold before;
        private final Fold here;

        private SegmentFold(int index, long segmentStart, boolean withPrevious) {
            this.index = index;
            this.segmentStart = segmentStart;
            this.withPrevious = withPrevious;
            Scanned previous = withPrevious ? scanned.get(index - 1) : null;
            this.before = previous == null ? new Fold() : new Fold(previous);
            this.here = new Fold();
        }

        @Override
        public void accept(Transaction t) {
            (Long.compareUnsigned(t.lsn(), segmentStart) < 0 ? before : here).add(t);
        }

        void finish() {
            if (withPrevious && scanned.containsKey(index - 1)) {
                scanned.put(index - 1, before.result());
            }
            scanned.put(index, here.result());
        }
    }

    /**
     * The last transaction before the first one after the target (the last one of all without a
     * target) over the segments {@code 0..segments-1} in order; empty when a segment up to there was
     * not scanned (the named one is returned as unscanned).
     */
    Expected expected(List<String> names) {
        Instant expected = null;
        String in = null;
        for (int i = 0; i < names.size(); i++) {
            Scanned s = scanned.get(i);
            if (s == null) {
                return new Expected(null, null, names.get(i));
            }
            if (s.lastBefore() != null) {
                expected = s.lastBefore();
                in = names.get(i);
            }
            if (s.passesTarget()) {
                break;
            }
        }
        return new Expected(expected, in, null);
    }

    /** Whether segment {@code index} has been read. */
    boolean scanned(int index) {
        return scanned.containsKey(index);
    }

    /** The point recovery must reach and the segment holding it, or the first segment that was not scanned (then nothing is known). */
    record Expected(Instant point, String segment, String unscanned) {}

    /**
     * What the server's recovered point means against the scan: null when it is the expected one or
     * later (a record the scan could not read: the server's word stands, logged by the caller), else
     * throws: the server stopped short of WAL it was given (a feeder that answered "no such file" too
     * soon, a segment that ended short), never a restore.
     */
    boolean reachedFurther(Instant recoveredTo, Expected expected) throws IOException {
        if (Objects.equals(expected.point(), recoveredTo)) {
            return false;
        }
        if (recoveredTo != null && (expected.point() == null || recoveredTo.isAfter(expected.point()))) {
            return true;
        }
        throw new IOException("recovery stopped short: it reached " + (recoveredTo == null ? "no transaction" : recoveredTo)
                + ", but the archived WAL it was given holds a transaction at " + expected.point() + " in " + expected.segment()
                + (target == null ? " (its last)" : " (the last before the point)") + "; the copy is discarded");
    }

    /** Folds one segment's transactions, in order, into its {@link Scanned}. */
    private final class Fold {
        private Instant last;
        private boolean passes;
        private long folded;

        Fold() {}

        /** Goes on from a segment's summary: transactions up to its folded LSN are already in it. */
        Fold(Scanned from) {
            this.last = from.lastBefore();
            this.passes = from.passesTarget();
            this.folded = from.foldedLsn();
        }

        void add(Transaction t) {
            if (folded != 0 && Long.compareUnsigned(t.lsn(), folded) <= 0) {
                return; // read before (the end of a segment read again with the next one)
            }
            folded = t.lsn();
            if (passes || Long.compareUnsigned(t.lsn(), startLsn) < 0) {
                return; // after the stop, or before the base backup's start: not replayed
            }
            if (target != null && t.at().isAfter(target)) {
                passes = true;
            } else {
                last = t.at();
            }
        }

        Scanned result() {
            return new Scanned(last, passes, folded);
        }
    }
}
