package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.MetricName;
import dev.backstop.model.SnapshotLayout;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a snapshot run ends: its row COMPLETED (with the metrics, the last-success gauge and the
 * copies to its replicas), FAILED or CANCELLED (with what it wrote removed). An end the catalog
 * cannot take when it happens (it is down) is kept ({@link UnrecordedEnds}) and recorded once it
 * answers, so no row stays RUNNING for ever.
 */
final class SnapshotEnds {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotService.class);

    private final Map<String, SnapshotService.Binding> bindings;
    private final SnapshotDao dao;
    private final MetricRegistry metrics;
    private final Clock clock;
    private final Replicator replicator;
    private final UnrecordedEnds unrecorded = new UnrecordedEnds();
    private final Map<String, AtomicLong> lastSuccess = new ConcurrentHashMap<>();

    private final dev.backstop.repository.Repositories repositories;

    SnapshotEnds(Map<String, SnapshotService.Binding> bindings, SnapshotDao dao, MetricRegistry metrics, Clock clock,
            Replicator replicator, dev.backstop.repository.Repositories repositories) {
        this.repositories = repositories;
        this.bindings = bindings;
        this.dao = dao;
        this.metrics = metrics;
        this.clock = clock;
        this.replicator = replicator;
        for (String source : bindings.keySet()) {
            AtomicLong holder = new AtomicLong();
            lastSuccess.put(source, holder);
            metrics.gauge(MetricName.of("backstop.snapshot.last.success.timestamp.seconds", "source", source), () -> holder::get);
        }
    }

    /** The last-success gauges from the catalog, at start. */
    void seedLastSuccess() {
        for (String source : bindings.keySet()) {
            dao.list(source, SnapshotStatus.COMPLETED, null, 1).stream().findFirst()
                    .ifPresent(row -> lastSuccess.get(source).set(row.finishedAt().getEpochSecond()));
        }
    }

    /** Whether the end of this run waits for the catalog. */
    boolean unrecorded(String snapshotId) {
        return unrecorded.holds(snapshotId);
    }

    void cancelled(SnapshotRow row, String by) {
        String reason = SnapshotService.CANCELLED + by + "; nothing of it is left in storage";
        try {
            dao.cancel(row.id(), clock.instant(), reason);
        } catch (RuntimeException catalogDown) {
            unrecorded.add(new UnrecordedEnds.End(row, UnrecordedEnds.Outcome.CANCELLED, reason, clock.instant()), catalogDown);
        }
        metrics.meter(MetricName.of("backstop.snapshots", "source", row.sourceName(), "outcome", "cancelled")).mark();
        LOG.warn("Snapshot {} of {} cancelled by {}", row.id(), row.sourceName(), by);
    }

    void finish(SnapshotRow row, Throwable failure) {
        Duration took = Duration.between(row.startedAt(), clock.instant());
        metrics.timer(MetricName.of("backstop.snapshot.duration", "source", row.sourceName())).update(took);
        boolean completed;
        try {
            completed = failure == null && dao.complete(row);
        } catch (RuntimeException catalogDown) {
            unrecorded.add(new UnrecordedEnds.End(row, UnrecordedEnds.Outcome.COMPLETED, null, clock.instant()), catalogDown);
            return;
        }
        if (completed) {
            metrics.meter(MetricName.of("backstop.snapshots", "source", row.sourceName(), "outcome", "completed")).mark();
            metrics.meter(MetricName.of("backstop.snapshot.raw.bytes", "source", row.sourceName())).mark(row.rawBytes());
            metrics.meter(MetricName.of("backstop.snapshot.stored.bytes", "source", row.sourceName())).mark(row.storedBytes());
            // What the snapshot added to storage: all of it for a whole object, its new chunks for a chunked one.
            metrics.meter(MetricName.of("backstop.snapshot.added.bytes", "source", row.sourceName()))
                    .mark(row.addedBytes() == null ? row.storedBytes() : row.addedBytes());
            lastSuccess.get(row.sourceName()).set(row.finishedAt().getEpochSecond());
            Replicator copies = replicator;
            if (copies != null) {
                try {
                    copies.completed(row);
                } catch (RuntimeException e) {
                    LOG.warn("Cannot record the copies of snapshot {}: {}; the catch-up job will retry", row.id(), e.getMessage());
                }
            }
            LOG.info("Snapshot {} of {} completed in {} s: {} bytes read, {} stored, sha256 {}", row.id(), row.sourceName(),
                    took.toSeconds(), row.rawBytes(), row.storedBytes(), row.sha256());
            return;
        }
        String reason = failure == null ? "the catalog row was no longer RUNNING" : SnapshotService.reason(failure);
        try {
            dao.fail(row.id(), clock.instant(), reason);
        } catch (RuntimeException catalogDown) {
            unrecorded.add(new UnrecordedEnds.End(row, UnrecordedEnds.Outcome.FAILED, reason, clock.instant()), catalogDown);
        }
        metrics.meter(MetricName.of("backstop.snapshots", "source", row.sourceName(), "outcome", "failed")).mark();
        // The reason holds the whole cause chain; the stack trace is for debugging only.
        LOG.error("Snapshot {} of {} failed: {}", row.id(), row.sourceName(), reason);
        if (failure != null) {
            LOG.debug("Snapshot {} failure", row.id(), failure);
        }
    }

    /** Records the ends the catalog could not take when they happened; those it still cannot take stay for the next try. */
    void recordUnrecorded() {
        if (unrecorded.isEmpty()) {
            return;
        }
        for (UnrecordedEnds.End end : unrecorded.flush(end -> switch (end.outcome()) {
            case COMPLETED -> dao.complete(end.row());
            case FAILED -> dao.fail(end.row().id(), end.at(), end.reason());
            case CANCELLED -> dao.cancel(end.row().id(), end.at(), end.reason());
        })) {
            if (end.outcome() == UnrecordedEnds.Outcome.COMPLETED) {
                lastSuccess.get(end.row().sourceName()).accumulateAndGet(end.row().finishedAt().getEpochSecond(), Math::max);
                if (replicator != null) {
                    try {
                        replicator.completed(end.row());
                    } catch (RuntimeException e) {
                        LOG.warn("Cannot record the copies of snapshot {}: {}; the catch-up job will retry", end.row().id(),
                                e.getMessage());
                    }
                }
            } else {
                removeWritten(end.row()); // removed when it ended; again, in case the store was down too
            }
        }
    }

    /**
     * Removes every object under a failed snapshot's directory in its target: a process that died
     * mid-snapshot may have left a data object and even a manifest behind a row now FAILED.
     * (Interrupted multipart uploads are the stale-upload sweep's.)
     */
    void removeWritten(SnapshotRow row) {
        SnapshotService.Binding binding = bindings.get(row.sourceName());
        if (binding == null) {
            return;
        }
        String directory = SnapshotLayout.directory(row.sourceName(), row.id(), row.startedAt());
        try {
            List<String> keys = binding.target().list(directory + "/");
            cleanUp(binding.target(), keys.toArray(String[]::new));
            discardChunks(binding.target(), row.id());
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot list what failed snapshot {} left in {}: {}", row.id(), binding.target().name(), e.getMessage());
        }
    }

    /** The packs a failed chunked run wrote are deleted (no other snapshot may reuse a pack before its writer completed). */
    void discardChunks(StorageTarget target, String snapshotId) {
        if (repositories == null) {
            return;
        }
        try {
            repositories.of(target).discard(snapshotId);
        } catch (RuntimeException e) {
            LOG.warn("Cannot remove the packs failed snapshot {} wrote to {}: {}; a prune removes them", snapshotId, target.name(),
                    e.getMessage());
        }
    }

    static void cleanUp(StorageTarget target, String... keys) {
        // One attempt each, without the retries: the snapshot has failed already, and what a store
        // that is down keeps (at most a manifest) the stale-upload sweep and DELETE can remove later.
        StorageTarget once = target.unretried();
        for (String key : keys) {
            try {
                once.delete(key);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Cannot remove {} from {} after a failed snapshot: {}", key, target.name(), e.getMessage());
            }
        }
    }
}
