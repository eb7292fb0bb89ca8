package dev.backstop.source.pgcluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The WAL chain a point-in-time restore replays, planned from listings alone (no storage, no
 * server): from the base backup's start segment onward, contiguous, each segment from the newest
 * timeline on the path that had begun by it (as PostgreSQL's recovery reads them), ended by the
 * partial segment of the first one missing when it is stored. Archived WAL beyond a missing segment
 * is a gap: the chain stops before it and says so.
 *
 * @param segments the files recovery reads, in order; the last may be a partial segment (see {@code partialLast})
 * @param partialLast whether the last file is the stored partial segment of its name
 * @param timeline the timeline recovery follows (the base backup's, or the newest archived one descending from it)
 * @param gap why the chain stops short of later archived WAL, or null
 */
record WalChain(List<String> segments, boolean partialLast, int timeline, String gap) {

    /**
     * Plans the chain.
     *
     * @param start       the base backup's start segment (from its backup_label)
     * @param startLsn    its start position
     * @param histories   archived timeline history files by timeline, each read into its switch points
     * @param stored      the archived full segments of a timeline
     * @param partial     whether the partial segment of a name is stored
     * @throws IllegalArgumentException when nothing from the start segment is archived
     */
    static WalChain plan(String start, long startLsn, long segmentSize, NavigableMap<Integer, List<Wal.Switch>> histories,
            Function<Integer, TreeSet<String>> stored, Predicate<String> partial) {
        int baseTimeline = Wal.timeline(start);
        // Timelines on the path, each with the first segment it holds (the one its parent's switch point lies in).
        TreeMap<Integer, Long> begins = new TreeMap<>(Map.of(baseTimeline, 0L));
        int targetTimeline = baseTimeline;
        for (int timeline : histories.descendingKeySet()) {
            if (timeline <= baseTimeline) {
                break;
            }
            List<Wal.Switch> switches = histories.get(timeline);
            boolean throughBase = switches.stream().anyMatch(sw -> sw.timeline() == baseTimeline
                    && Long.compareUnsigned(sw.end(), startLsn) > 0);
            if (!throughBase) {
                continue; // branched off before this base backup (or from another line): not reachable from it
            }
            targetTimeline = timeline;
            for (int i = 0; i < switches.size(); i++) {
                int child = i + 1 < switches.size() ? switches.get(i + 1).timeline() : timeline;
                if (switches.get(i).timeline() >= baseTimeline) {
                    begins.put(child, Long.divideUnsigned(switches.get(i).end(), segmentSize));
                }
            }
            break;
        }
        Map<Integer, TreeSet<String>> listed = new TreeMap<>();
        for (int timeline : begins.keySet()) {
            listed.put(timeline, stored.apply(timeline));
        }
        List<String> segments = new ArrayList<>();
        long segment = Wal.segmentNumber(start, segmentSize);
        while (true) {
            String name = Wal.name(timelineOf(begins, segment), segment, segmentSize);
            if (!listed.get(Wal.timeline(name)).contains(name)) {
                break;
            }
            segments.add(name);
            segment++;
        }
        String expected = Wal.name(timelineOf(begins, segment), segment, segmentSize);
        String gap = null;
        for (Map.Entry<Integer, TreeSet<String>> timeline : listed.entrySet()) {
            for (String later : timeline.getValue()) {
                long number = Wal.segmentNumber(later, segmentSize);
                if (gap == null && number > segment && timelineOf(begins, number) == timeline.getKey()) {
                    gap = "the WAL chain has a gap: " + expected + " is missing before " + later
                            + "; restore a point before it, or from a base backup taken after it";
                }
            }
        }
        // The segment being written when the chain ended (or broke) is stored as far as it was
        // received: it ends the chain, serving every point up to the archive's (or the gap's) coveredUntil.
        boolean partialLast = partial.test(expected);
        if (partialLast) {
            segments.add(expected);
        }
        if (segments.isEmpty()) {
            throw new IllegalArgumentException("no WAL from the base backup's start segment " + start + " is archived");
        }
        return new WalChain(List.copyOf(segments), partialLast, targetTimeline, gap);
    }

    /** The newest timeline on the path that had begun by {@code segment}. */
    private static int timelineOf(TreeMap<Integer, Long> begins, long segment) {
        int found = begins.firstKey();
        for (Map.Entry<Integer, Long> b : begins.entrySet()) {
            if (b.getValue() <= segment) {
                found = b.getKey();
            }
        }
        return found;
    }
}
