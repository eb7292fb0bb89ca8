package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.Node;
import dev.backstop.model.SnapshotLayout;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.TimeOrderedId;
import dev.backstop.resilience.ThreadPools;
import dev.backstop.source.SnapshotSource;
import dev.backstop.storage.StorageTarget;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Takes snapshots: catalog row RUNNING, stream the source through the pipeline into storage, write
 * the manifest, then COMPLETED; or FAILED with the reason, with everything written so far removed.
 * The row turns COMPLETED only after both objects are durable, so a crash never leaves a COMPLETED
 * row for an incomplete object; the startup pass marks rows a crash left RUNNING as FAILED.
 */
public final class SnapshotService implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotService.class);
    public static final String INTERRUPTED = "interrupted: the service stopped before the snapshot finished";
    public static final String ABORTED = "aborted: the service shut down and the snapshot did not finish within "
            + "scheduler.shutdownGracePeriod";

    /** A configured source with the target its snapshots go to. */
    public record Binding(SnapshotSource source, StorageTarget target) {}

    private final Map<String, Binding> bindings;
    private final SnapshotDao dao;
    private final SnapshotPipeline pipeline;
    private final MetricRegistry metrics;
    private final Clock clock;
    private final TimeOrderedId ids;
    private final ExecutorService executor;
    private final Map<String, String> running = new ConcurrentHashMap<>();
    /** Snapshots (by id) an operator cancelled, with who did. */
    private final Map<String, String> cancelled = new ConcurrentHashMap<>();
    public static final String CANCELLED = "cancelled by ";
    /** Bytes read and stored so far by the snapshot running now, per source. */
    private final SnapshotProgress progress;
    private final Node node;
    /** How long aborted snapshots get to end their rows at shutdown (the scheduler waits as long). */
    static final long ABORT_WAIT_SECONDS = 30;

    private volatile boolean aborting;
    /** Snapshots claimed (RUNNING in the catalog) that wait for a free worker of {@code snapshots.maxConcurrent}. */
    private final java.util.Set<String> waiting = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.ScheduledExecutorService recorder;
    /** How often ends the catalog could not record are tried again. */
    private static final long RECORD_RETRY_SECONDS = 2;
    private final Replicator replicator;
    /** How each run ends in the catalog, the metrics and storage. */
    private final SnapshotEnds ends;

    private final Duration shutdownGracePeriod;
    private final dev.backstop.repository.Repositories repositories;
    /** How a run's data and manifest are written, whole or chunked. */
    private final SnapshotWrites writes;
    private final SnapshotRemoval removal;

    /**
     * @param replicator          copies completed snapshots to the sources' replica targets, and deletes from all of them
     * @param shutdownGracePeriod how long snapshots started through the API or CLI may run on at shutdown
     *                            ({@code scheduler.shutdownGracePeriod})
     */
    public SnapshotService(Node node, Map<String, Binding> bindings, SnapshotDao dao, SnapshotPipeline pipeline, ObjectMapper mapper,
            MetricRegistry metrics, Clock clock, String version, int maxConcurrent, Replicator replicator,
            Duration shutdownGracePeriod, ThreadPools threads, dev.backstop.repository.Repositories repositories) {
        this.repositories = repositories;
        this.replicator = replicator;
        this.shutdownGracePeriod = shutdownGracePeriod;
        this.node = node;
        this.bindings = Map.copyOf(bindings);
        this.dao = dao;
        this.pipeline = pipeline;
        this.metrics = metrics;
        this.clock = clock;
        this.ids = new TimeOrderedId(clock);
        this.executor = threads.fixed("snapshot", maxConcurrent);
        this.recorder = threads.scheduled("snapshot-ends");
        this.ends = new SnapshotEnds(this.bindings, dao, metrics, clock, replicator, repositories);
        this.writes = new SnapshotWrites(pipeline, repositories, mapper, clock, version);
        this.removal = new SnapshotRemoval(this.bindings, dao, replicator);
        this.progress = new SnapshotProgress(bindings.keySet(), dao, metrics);
    }


    public Map<String, Binding> bindings() {
        return bindings;
    }

    /** Marks what a crash left RUNNING as FAILED, and seeds the last-success gauges from the catalog. */
    @Override
    public void start() {
        // Alone on the catalog (the catalog lease proves it), every RUNNING row is of a dead process;
        // in a cluster only this node's are. Each is FAILED, and what it wrote is removed.
        int failed = 0;
        for (SnapshotRow row : dao.allRunning()) {
            if ((!node.clustered() || node.id().equals(row.node())) && dao.fail(row.id(), clock.instant(), INTERRUPTED)) {
                ends.removeWritten(row);
                failed++;
            }
        }
        if (failed > 0) {
            LOG.warn("Marked {} snapshots FAILED that were RUNNING when the service last stopped, and removed what they wrote",
                    failed);
        }
        ends.seedLastSuccess();
        recorder.scheduleWithFixedDelay(ends::recordUnrecorded, RECORD_RETRY_SECONDS, RECORD_RETRY_SECONDS, TimeUnit.SECONDS);
        // Say at once what will not work (pg_dump missing or older than the server, a path that does
        // not exist), without holding up startup on a source that is slow to answer.
        executor.submit(() -> bindings.values().forEach(binding -> {
            try {
                binding.source().checkReachable();
            } catch (Exception e) {
                LOG.error("Source {} cannot be snapshotted now: {}", binding.source().name(), reason(e));
            }
        }));
    }


    /**
     * Snapshots started through the API get the same grace period as scheduled ones: they may
     * finish within it, then are aborted cleanly (FAILED, nothing left in storage).
     */
    @Override
    public void stop() throws InterruptedException {
        executor.shutdown();
        if (!executor.awaitTermination(shutdownGracePeriod.toMillis(), TimeUnit.MILLISECONDS)) {
            LOG.warn("Aborting snapshots still running after the {} s shutdown grace period: {}", shutdownGracePeriod.toSeconds(),
                    running.values());
            aborting = true;
            executor.awaitTermination(ABORT_WAIT_SECONDS, TimeUnit.SECONDS);
        }
        aborting = true;
    }

    /** Starts a snapshot in the background and returns its RUNNING row. */
    public SnapshotRow request(String sourceName, SnapshotOrigin origin, String requestedBy) {
        SnapshotRow row = claim(sourceName, origin, requestedBy, null);
        waiting.add(row.id());
        try {
            executor.submit(() -> execute(row));
        } catch (RuntimeException e) {
            waiting.remove(row.id());
            ends.finish(row, e);
            throw e;
        }
        return row;
    }

    /** Takes a snapshot on the calling thread (the CLI) and returns the final row. */
    public SnapshotRow takeNow(String sourceName, SnapshotOrigin origin, String requestedBy) {
        SnapshotRow row = claim(sourceName, origin, requestedBy, null);
        execute(row);
        return dao.find(row.id()).orElseThrow();
    }

    /**
     * Takes the snapshot of one scheduled fire time on the calling (scheduler) thread and returns the
     * final row. A fire time has at most one row: if it already completed, that row is returned
     * untouched; if a dead node (or this one, before a restart) left it unfinished, this node takes
     * it over when the job is recovering or its owner is dead.
     */
    public SnapshotRow takeScheduled(String sourceName, Instant fireTime, String requestedBy, boolean recovering) {
        binding(sourceName);
        Optional<SnapshotRow> existing = dao.findScheduled(sourceName, fireTime);
        if (existing.isEmpty()) {
            SnapshotRow row = claim(sourceName, SnapshotOrigin.SCHEDULE, requestedBy, fireTime);
            execute(row);
            return dao.find(row.id()).orElseThrow();
        }
        SnapshotRow row = existing.get();
        if (row.status() == SnapshotStatus.COMPLETED || row.status() == SnapshotStatus.DELETED
                || row.status() == SnapshotStatus.PRUNED) {
            LOG.info("Snapshot {} of {} for fire time {} already exists ({}); nothing to do", row.id(), sourceName, fireTime,
                    row.status());
            return row;
        }
        boolean ownerGone = row.status() == SnapshotStatus.FAILED || node.id().equals(row.node()) || node.isDead(row.node());
        if (!recovering && !ownerGone) {
            throw BackstopException.conflict("the snapshot of '" + sourceName + "' for " + fireTime + " is running on node "
                    + row.node() + ": " + row.id());
        }
        if (running.putIfAbsent(sourceName, row.id()) != null) {
            throw BackstopException.conflict("a snapshot of '" + sourceName + "' is already running: " + running.get(sourceName));
        }
        Instant now = clock.instant();
        try {
            if (!takeOver(row, now)) {
                throw BackstopException.conflict("the snapshot of '" + sourceName + "' for " + fireTime + " changed state");
            }
        } catch (RuntimeException e) {
            running.remove(sourceName, row.id());
            throw e;
        }
        LOG.warn("Snapshot {} of {} for fire time {} taken over from node {} (recovering: {})", row.id(), sourceName, fireTime,
                row.node(), recovering);
        SnapshotRow mine = dao.find(row.id()).orElseThrow();
        execute(mine);
        return dao.find(row.id()).orElseThrow();
    }

    private boolean takeOver(SnapshotRow row, Instant now) {
        try {
            return dao.takeOver(row.id(), node.id(), now);
        } catch (RuntimeException e) {
            throw uniqueViolation(e) ? BackstopException.conflict("a snapshot of '" + row.sourceName() + "' is already running")
                    : e;
        }
    }

    /**
     * Stops every snapshot running on this node: the next write into storage fails, so each ends
     * FAILED with the reason and its upload aborted. Cooperative, not an interrupt: an interrupted
     * thread writing to an H2 catalog would close the database's file.
     */
    public void abortRunning() {
        aborting = true;
    }

    private Binding binding(String sourceName) {
        Binding binding = bindings.get(sourceName);
        if (binding == null) {
            throw new BackstopException(ProblemType.VALIDATION_FAILED, "unknown source '" + sourceName + "'; configured sources: "
                    + String.join(", ", bindings.keySet().stream().sorted().toList()));
        }
        return binding;
    }

    private SnapshotRow claim(String sourceName, SnapshotOrigin origin, String requestedBy, Instant scheduledFor) {
        Binding binding = binding(sourceName);
        String id = ids.next();
        String previous = running.putIfAbsent(sourceName, id);
        if (previous != null) {
            throw BackstopException.conflict("a snapshot of '" + sourceName + "' is already running: " + previous);
        }
        try {
            ends.recordUnrecorded();
            for (SnapshotRow other : dao.running(sourceName)) {
                if (node.id().equals(other.node()) && !ends.unrecorded(other.id()) && dao.fail(other.id(), clock.instant(),
                        "interrupted: its end was never recorded (this node no longer runs it)")) {
                    // This node holds the source now (above), so a RUNNING row of it here is a run that is over.
                    ends.removeWritten(other);
                    LOG.warn("Marked snapshot {} of {} FAILED: this node no longer runs it", other.id(), sourceName);
                    continue;
                }
                if (node.isDead(other.node()) && dao.fail(other.id(), clock.instant(), "interrupted: node " + other.node()
                        + " stopped before the snapshot finished")) {
                    ends.removeWritten(other);
                    LOG.warn("Marked snapshot {} of {} FAILED: its node {} is gone", other.id(), sourceName, other.node());
                    continue;
                }
                throw BackstopException.conflict("a snapshot of '" + sourceName + "' is already running: " + other.id());
            }
            SnapshotRow row = SnapshotRow.running(id, sourceName, binding.source().type(), origin, requestedBy, clock.instant(),
                    node.id(), scheduledFor);
            try {
                dao.insert(row);
            } catch (RuntimeException e) {
                // Another node claimed the source (or this fire time) between our check and the insert.
                if (uniqueViolation(e)) {
                    throw BackstopException.conflict("a snapshot of '" + sourceName + "' is already running"
                            + (scheduledFor == null ? "" : " or was taken for " + scheduledFor));
                }
                throw e;
            }
            return row;
        } catch (RuntimeException e) {
            running.remove(sourceName, id);
            throw e;
        }
    }

    private static boolean uniqueViolation(Throwable e) {
        return dev.backstop.db.Constraints.isUniqueViolation(e);
    }

    /** Whether a snapshot this node claimed still waits for a free worker. */
    public boolean queued(String snapshotId) {
        return waiting.contains(snapshotId);
    }

    private void execute(SnapshotRow row) {
        waiting.remove(row.id());
        MDC.put("snapshot_id", row.id());
        MDC.put("source", row.sourceName());
        try {
            Binding binding = bindings.get(row.sourceName());
            String directory = SnapshotLayout.directory(row.sourceName(), row.id(), row.startedAt());
            boolean chunked = repositories != null && repositories.chunked(row.sourceName());
            String dataKey = SnapshotLayout.dataKey(directory, binding.source().extension()
                    + (chunked ? SnapshotLayout.CHUNK_LIST : pipeline.suffix()));
            String manifestKey = SnapshotLayout.manifestKey(directory);
            LOG.info("Snapshot {} of {} started, to {} {}", row.id(), row.sourceName(), binding.target().name(), dataKey);
            try {
                java.util.function.BooleanSupplier stop = () -> aborting || cancelled.containsKey(row.id());
                SnapshotWrites.Progress sink = progress.of(row);
                SnapshotRow done = chunked ? writes.chunked(row, binding, dataKey, manifestKey, stop, sink)
                        : writes.object(row, binding, dataKey, manifestKey, stop, sink);
                ends.finish(done, null);
            } catch (Exception | LinkageError e) {
                SnapshotEnds.cleanUp(binding.target(), manifestKey, dataKey);
                if (chunked) {
                    ends.discardChunks(binding.target(), row.id());
                }
                String by = cancelled.get(row.id());
                if (by != null) {
                    ends.cancelled(row, by);
                } else {
                    ends.finish(row, aborting ? new IOException(ABORTED, e) : e);
                }
            }
        } finally {
            cancelled.remove(row.id());
            progress.ended(row.sourceName());
            running.remove(row.sourceName(), row.id());
            MDC.remove("snapshot_id");
            MDC.remove("source");
        }
    }

    /**
     * Cancels a RUNNING snapshot of this node: it stops at the source's next write, what it wrote
     * is removed as for a failure, and the row ends CANCELLED. Answers the row as it is now.
     */
    public SnapshotRow cancel(String id, String actor) {
        SnapshotRow row = find(id);
        if (row.status() != SnapshotStatus.RUNNING) {
            throw BackstopException.conflict("snapshot " + id + " is " + row.status() + "; only a RUNNING snapshot can be cancelled");
        }
        if (!id.equals(running.get(row.sourceName()))) {
            throw BackstopException.conflict("snapshot " + id + " runs on node " + row.node() + ", not on this one (" + node.id()
                    + "); cancel it there");
        }
        cancelled.putIfAbsent(id, actor);
        LOG.info("Snapshot {} of {}: cancel requested by {}", id, row.sourceName(), actor);
        return find(id);
    }

    /** A failure's reason for the catalog and API ({@link dev.backstop.model.Failures#reason}). */
    static String reason(Throwable failure) {
        return dev.backstop.model.Failures.reason(failure);
    }

    /** Deletes a snapshot's objects, then marks its row DELETED. */
    public SnapshotRow delete(String id, String actor) {
        return remove(id, actor, SnapshotStatus.DELETED);
    }

    /** Deletes a snapshot's objects, then marks its row {@code status} (DELETED, or PRUNED by retention). */
    public SnapshotRow remove(String id, String actor, SnapshotStatus status) {
        SnapshotRow row = find(id);
        return removal.remove(row, actor, status) ? find(id) : row;
    }

    public SnapshotRow find(String id) {
        return dao.find(BackstopException.requireId(id, "snapshot")).orElseThrow(() -> BackstopException.notFound("no snapshot " + id));
    }

    public Optional<String> runningSnapshot(String source) {
        return Optional.ofNullable(running.get(source));
    }
}
