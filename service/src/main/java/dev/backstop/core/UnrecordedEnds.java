package dev.backstop.core;

import dev.backstop.db.SnapshotRow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How snapshot runs ended when the catalog could not record it (it was down): kept in memory and
 * recorded as soon as it answers again, so no row stays RUNNING for ever and no source is refused
 * with "already running" by a run that is long over. A failed or cancelled run's objects were
 * removed when it ended; the record follows.
 */
final class UnrecordedEnds {
    private static final Logger LOG = LoggerFactory.getLogger(UnrecordedEnds.class);

    enum Outcome { COMPLETED, FAILED, CANCELLED }

    /** {@code row} is the final row for COMPLETED, the RUNNING one otherwise. */
    record End(SnapshotRow row, Outcome outcome, String reason, Instant at) {}

    /** Records one end in the catalog; false when the row had changed meanwhile (nothing to record). */
    interface Recorder {
        boolean record(End end);
    }

    private final Map<String, End> ends = new ConcurrentHashMap<>();

    void add(End end, RuntimeException why) {
        ends.put(end.row().id(), end);
        LOG.error("Snapshot {} of {} ended {} but the catalog cannot record it now ({}); it is recorded once the catalog "
                + "answers, and the source is free meanwhile", end.row().id(), end.row().sourceName(), end.outcome(), why.getMessage());
    }

    boolean isEmpty() {
        return ends.isEmpty();
    }

    boolean holds(String snapshotId) {
        return ends.containsKey(snapshotId);
    }

    /** Records every end the catalog takes now, oldest first; the rest stay for the next call. Returns those recorded. */
    List<End> flush(Recorder recorder) {
        List<End> recorded = new ArrayList<>();
        for (End end : ends.values().stream().sorted(java.util.Comparator.comparing(End::at)).toList()) {
            try {
                recorder.record(end);
            } catch (RuntimeException stillDown) {
                LOG.debug("Catalog still cannot record the end of snapshot {}: {}", end.row().id(), stillDown.getMessage());
                break;
            }
            ends.remove(end.row().id());
            recorded.add(end);
            LOG.warn("Snapshot {} of {} recorded {} now that the catalog answers again{}", end.row().id(), end.row().sourceName(),
                    end.outcome(), end.reason() == null ? "" : ": " + end.reason());
        }
        return recorded;
    }
}
