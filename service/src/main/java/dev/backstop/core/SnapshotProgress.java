package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.MetricName;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bytes read and stored so far by the snapshot running now, per source: the gauges
 * {@code backstop_snapshot_progress_bytes{source,stage}} at every write (0 when none runs), the
 * catalog row at most once a second and only after another MiB.
 */
final class SnapshotProgress {
    private static final long PROGRESS_BYTES = 1L << 20;

    private final Map<String, long[]> counts = new ConcurrentHashMap<>();
    private final SnapshotDao dao;

    SnapshotProgress(Collection<String> sources, SnapshotDao dao, MetricRegistry metrics) {
        this.dao = dao;
        for (String source : sources) {
            long[] c = new long[2];
            counts.put(source, c);
            metrics.gauge(MetricName.of("backstop.snapshot.progress.bytes", "source", source, "stage", "read"), () -> () -> c[0]);
            metrics.gauge(MetricName.of("backstop.snapshot.progress.bytes", "source", source, "stage", "stored"), () -> () -> c[1]);
        }
    }

    /** The progress sink of one run. */
    SnapshotWrites.Progress of(SnapshotRow row) {
        long[] c = counts.get(row.sourceName());
        ProgressDue due = new ProgressDue(PROGRESS_BYTES);
        return (read, stored) -> {
            c[0] = read;
            c[1] = stored;
            if (due.at(read)) {
                dao.progress(row.id(), read, stored);
            }
        };
    }

    /** The source's run ended: its gauges go back to 0. */
    void ended(String source) {
        long[] c = counts.get(source);
        if (c != null) {
            c[0] = 0;
            c[1] = 0;
        }
    }
}
