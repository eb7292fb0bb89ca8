package dev.backstop.source.pgcluster;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where recovery must stop, read from {@code pg_waldump --rmgr=Transaction} output of the segments
 * as they are fetched: per segment, its last transaction before the first one after the target (its
 * last one, without a target) and whether it holds one after the target. Pure: fed with lines,
 * unit-tested with captured output; {@link #check} compares the point the server reached.
 */
final class CommitScan {
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
        // By hand, not with a regular expression and a formatter: a segment of busy WAL has ~30,000 of
        // these lines, read on the thread recovery waits for (a regex and LocalDateTime.parse: ~40 ms a segment).
        // The records: "lsn: 0/01580DA8, prev ..., desc: COMMIT|ABORT[_PREPARED <xid>:] yyyy-MM-dd HH:mm:ss[.ffffff] UTC".
        int desc = line.indexOf("desc: ");
        if (desc < 0) {
            return null;
        }
        int at = desc + 6;
        if (line.startsWith("COMMIT", at)) {
            at += 6;
        } else if (line.startsWith("ABORT", at)) {
            at += 5;
        } else {
            return null;
        }
        if (line.startsWith("_PREPARED ", at)) {
            int colon = line.indexOf(':', at);
            if (colon < 0 || !digits(line, at + 10, colon)) {
                return null;
            }
            at = colon + 1;
        }
        if (at >= line.length() || line.charAt(at) != ' ') {
            return null;
        }
        Instant time = time(line, at + 1);
        int lsnAt = line.lastIndexOf("lsn: ", desc);
        int comma = lsnAt < 0 ? -1 : line.indexOf(',', lsnAt);
        if (time == null || comma < 0) {
            return null;
        }
        try {
            return new Transaction(time, Wal.lsn(line.substring(lsnAt + 5, comma)));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** {@code yyyy-MM-dd HH:mm:ss[.f...] UTC} at {@code at}, or null. */
    private static Instant time(String line, int at) {
        int end = at + 19;
        if (line.length() < end + 4 || line.charAt(at + 4) != '-' || line.charAt(at + 7) != '-' || line.charAt(at + 10) != ' '
                || line.charAt(at + 13) != ':' || line.charAt(at + 16) != ':' || !digits(line, at, at + 4)
                || !digits(line, at + 5, at + 7) || !digits(line, at + 8, at + 10) || !digits(line, at + 11, at + 13)
                || !digits(line, at + 14, at + 16) || !digits(line, at + 17, end)) {
            return null;
        }
        int nanos = 0;
        if (line.charAt(end) == '.') {
            int from = end + 1;
            end = from;
            while (end < line.length() && end - from < 9 && Character.isDigit(line.charAt(end))) {
                nanos = nanos * 10 + (line.charAt(end) - '0');
                end++;
            }
            if (end == from) {
                return null;
            }
            for (int i = end - from; i < 9; i++) {
                nanos *= 10;
            }
        }
        if (!line.startsWith(" UTC", end)) {
            return null;
        }
        try {
            long seconds = java.time.LocalDateTime.of(number(line, at, 4), number(line, at + 5, 2), number(line, at + 8, 2),
                    number(line, at + 11, 2), number(line, at + 14, 2), number(line, at + 17, 2)).toEpochSecond(ZoneOffset.UTC);
            return Instant.ofEpochSecond(seconds, nanos);
        } catch (java.time.DateTimeException e) {
            return null;
        }
    }

    private static boolean digits(String line, int from, int to) {
        if (from >= to) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (!Character.isDigit(line.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static int number(String line, int at, int length) {
        int value = 0;
        for (int i = at; i < at + length; i++) {
            value = value * 10 + (line.charAt(i) - '0');
        }
        return value;
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
