package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.AuditDao;
import dev.backstop.db.AuditEvent;
import dev.backstop.db.RestoreDao;
import dev.backstop.db.RestoreRow;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.AuditOutcome;
import dev.backstop.model.MetricName;
import dev.backstop.model.Node;
import dev.backstop.model.RestoreMode;
import dev.backstop.model.RestorePhase;
import dev.backstop.model.RestoreRequest;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.TimeOrderedId;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.source.FileTrees;
import dev.backstop.source.SourceRestorer;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Restores a snapshot in one pass over the stored object: download, SHA-256 and size, OpenPGP
 * (integrity checked), zstd, and into a FRESH target that the source's plug-in creates beside the
 * live data. Only when the whole object has verified is the fresh target committed; on any failure
 * it is discarded, so the live target is never touched by a bad object. Mistakes in a request are
 * refused when it arrives (409/422), not failed later. Knows no source type.
 */
public final class RestoreService implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(RestoreService.class);
    public static final String INTERRUPTED = "interrupted: the service stopped during the restore";
    public static final String CANCELLED = "cancelled by ";

    private final Node node;
    private final Map<String, SourceRestorer> restorers;
    private final RestorePass pass;
    private final SnapshotDao snapshots;
    private final RestoreDao restores;
    private final AuditDao audit;
    private final Path staging;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final MetricRegistry metrics;
    private final TimeOrderedId ids;
    private final ExecutorService executor;
    private final RestoreStart starts;
    /** Target key -> the restore id running into it. */
    private final Map<String, String> busyTargets = new ConcurrentHashMap<>();
    /** Restore id -> who cancelled it. */
    private final Map<String, String> cancelled = new ConcurrentHashMap<>();
    /** Restore id -> (source, stored bytes read so far), for the progress gauge. */
    private final Map<String, Map.Entry<String, Long>> inFlight = new ConcurrentHashMap<>();
    /** Restore id -> its recovery: the source, and bytes of log replayed and planned. */
    private final Map<String, Recovering> recovering = new ConcurrentHashMap<>();

    private record Recovering(String source, long replayed, long planned) {}
    private volatile boolean stopping;

    public RestoreService(Node node, Map<String, SourceRestorer> restorers, Replicator copies, SnapshotDao snapshots,
            RestoreDao restores, AuditDao audit, ObjectCodec codec, Path staging, ObjectMapper mapper, Clock clock,
            MetricRegistry metrics, dev.backstop.resilience.ThreadPools threads, dev.backstop.repository.Repositories repositories) {
        this.node = node;
        this.restorers = Map.copyOf(restorers);
        this.pass = new RestorePass(copies, codec, mapper, repositories);
        this.snapshots = snapshots;
        this.restores = restores;
        this.audit = audit;
        this.staging = staging;
        this.mapper = mapper;
        this.clock = clock;
        this.metrics = metrics;
        this.ids = new TimeOrderedId(clock);
        this.executor = threads.fixed("restore", 2);
        this.starts = new RestoreStart(this.restorers, snapshots);
        for (String source : this.restorers.keySet()) {
            metrics.gauge(MetricName.of("backstop.restore.progress.bytes", "source", source), () -> () -> inFlight.values().stream()
                    .filter(e -> e.getKey().equals(source)).mapToLong(Map.Entry::getValue).sum());
            if (this.restorers.get(source).archivedLog().isPresent()) {
                metrics.gauge(MetricName.of("backstop.restore.wal.replayed.bytes", "source", source), () -> () -> recovering.values()
                        .stream().filter(r -> r.source().equals(source)).mapToLong(Recovering::replayed).sum());
                metrics.gauge(MetricName.of("backstop.restore.wal.planned.bytes", "source", source), () -> () -> recovering.values()
                        .stream().filter(r -> r.source().equals(source)).mapToLong(Recovering::planned).sum());
            }
        }
    }

    /**
     * Marks restores a crash interrupted as FAILED and has their plug-ins remove the fresh targets
     * they were filling (alone on the catalog every unfinished restore is of a dead process; in a
     * cluster only this node's are); removes what earlier versions staged.
     */
    @Override
    public void start() throws IOException {
        Map<String, String> unfinished = restores.unfinished();
        unfinished.forEach((id, owner) -> {
            if (!node.clustered() || node.id().equals(owner)) {
                discardLeftovers(id);
            }
        });
        int failed = node.clustered() ? restores.failUnfinishedOf(node.id(), clock.instant(), INTERRUPTED)
                : restores.failUnfinished(clock.instant(), INTERRUPTED);
        if (failed > 0) {
            LOG.warn("Marked {} restores FAILED that were unfinished when the service last stopped", failed);
        }
        if (Files.isDirectory(staging)) {
            try (Stream<Path> entries = Files.list(staging)) {
                for (Path leftover : entries.filter(p -> p.getFileName().toString().startsWith("restore-")).toList()) {
                    FileTrees.delete(leftover);
                }
            }
        }
    }

    private void discardLeftovers(String restoreId) {
        try {
            RestoreRow row = restores.find(restoreId).orElseThrow();
            SnapshotRow snapshot = snapshots.find(row.snapshotId()).orElseThrow();
            SourceRestorer restorer = restorers.get(snapshot.sourceName());
            if (restorer != null && !row.dryRun()) {
                Map<String, String> target = new RestoreRequest(null, mapper.readValue(row.target(),
                        new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {}), "new", false, false, false)
                        .targetSettings();
                restorer.discardLeftovers(target, restoreId);
            }
        } catch (Exception e) {
            LOG.warn("Cannot remove what interrupted restore {} left behind: {}", restoreId, SnapshotService.reason(e));
        }
    }

    /** Running restores stop at their next progress point (child processes are ended) and clean up. No interrupts. */
    @Override
    public void stop() throws InterruptedException {
        stopping = true;
        executor.shutdown();
        if (!executor.awaitTermination(20, TimeUnit.SECONDS)) {
            restorers.values().forEach(SourceRestorer::stop);
            executor.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** Checks and queues a restore; returns its QUEUED row. */
    public RestoreRow request(RestoreRequest request, String actor) {
        return request(request, actor, true);
    }

    /** Runs a restore on the calling thread (the CLI, drills) and returns the final row. */
    public RestoreRow restoreNow(RestoreRequest request, String actor) {
        return restores.find(request(request, actor, false).id()).orElseThrow();
    }

    public RestoreRow find(String id) {
        return restores.find(BackstopException.requireId(id, "restore")).orElseThrow(() -> BackstopException.notFound("no restore " + id));
    }

    private RestoreRow request(RestoreRequest request, String actor, boolean background) {
        RestoreStart.Chosen chosen = starts.choose(request);
        SnapshotRow snapshot = chosen.snapshot();
        if (snapshot.status() != SnapshotStatus.COMPLETED) {
            throw BackstopException.conflict("snapshot " + snapshot.id() + " is " + snapshot.status() + "; only COMPLETED snapshots restore");
        }
        SourceRestorer restorer = restorers.get(snapshot.sourceName());
        if (restorer == null) {
            throw invalid("source '" + snapshot.sourceName() + "' of snapshot " + snapshot.id() + " is no longer configured");
        }
        RestoreMode mode = RestoreMode.valueOf(request.mode().toUpperCase(Locale.ROOT));
        SourceRestorer.Plan plan = plan(restorer, request, mode, chosen.pointInTime());
        String id = ids.next();
        String busy = busyTargets.putIfAbsent(plan.key(), id);
        if (busy != null) {
            throw BackstopException.conflict("restore " + busy + " is already running into " + plan.key());
        }
        try {
            RestoreRow row = new RestoreRow(id, snapshot.id(), RestorePhase.QUEUED, mode, request.dryRun(),
                    mapper.writeValueAsString(request.target()), actor, 0, snapshot.storedBytes(), clock.instant(), null, null,
                    null, null);
            restores.insert(row);
            restores.assignNode(id, node.id());
            audit(actor, "restore.requested", id, AuditOutcome.REQUESTED, "snapshot " + snapshot.id() + (plan.tableLevel() ? ", tables " + String.join(", ", plan.tables()) + "," : "")
                    + " into " + plan.key()
                    + " (" + request.mode() + (request.dryRun() ? ", dry run" : "") + ")");
            if (background) {
                executor.submit(() -> execute(row, snapshot, restorer, plan));
            } else {
                execute(row, snapshot, restorer, plan);
            }
            return row;
        } catch (IOException | RuntimeException e) {
            busyTargets.remove(plan.key(), id);
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    /** The plug-in's checks, as 409/422/503; conditions that may pass refuse a real run now and are reported by a dry run. */
    private static SourceRestorer.Plan plan(SourceRestorer restorer, RestoreRequest request, RestoreMode mode,
            SourceRestorer.PointInTime pointInTime) {
        SourceRestorer.Plan plan;
        Map<String, String> target;
        try {
            target = request.targetSettings();
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        try {
            if (request.tables() == null) {
                plan = restorer.plan(target, mode == RestoreMode.REPLACE, request.force(), request.dropReplaced(), pointInTime);
            } else if (mode == RestoreMode.REPLACE || request.force() || request.dropReplaced()) {
                throw invalid("tables are restored into a new schema beside the live ones: give mode new, without force and "
                        + "dropReplaced");
            } else {
                plan = restorer.planTables(target, request.tables(), pointInTime);
            }
        } catch (SourceRestorer.Refused refused) {
            throw refused.isConflict() ? BackstopException.conflict(refused.getMessage()) : invalid(refused.getMessage());
        } catch (UncheckedIOException unreachable) {
            throw new BackstopException(ProblemType.SERVICE_UNAVAILABLE, unreachable.getCause().getMessage(), unreachable);
        }
        if (!plan.wouldRefuse().isEmpty() && !request.dryRun()) {
            throw BackstopException.conflict(String.join("; ", plan.wouldRefuse()) + "; nothing was restored");
        }
        return plan;
    }

    /**
     * Cancels a restore that has not finished: it stops at its next progress point, discards its
     * fresh target as a failure does, and ends CANCELLED.
     */
    public RestoreRow cancel(String id, String actor) {
        RestoreRow row = find(id);
        if (row.phase().isFinal()) {
            throw BackstopException.conflict("restore " + id + " is " + row.phase() + "; only an unfinished restore can be cancelled");
        }
        if (!busyTargets.containsValue(row.id())) {
            throw BackstopException.conflict("restore " + id + " is not running on this node (" + node.id() + "); cancel it on "
                    + "the node that runs it");
        }
        cancelled.putIfAbsent(row.id(), actor);
        audit(actor, "restore.cancel", row.id(), AuditOutcome.REQUESTED, "cancel requested");
        LOG.info("Restore {} cancel requested by {}", row.id(), actor);
        return find(id);
    }

    /** Throws once the service stops or an operator cancelled the restore. */
    private void checkGoingOn(String restoreId) {
        if (stopping) {
            throw new UncheckedIOException(new IOException(INTERRUPTED));
        }
        String by = cancelled.get(restoreId);
        if (by != null) {
            throw new UncheckedIOException(new IOException(CANCELLED + by));
        }
    }

    private void execute(RestoreRow row, SnapshotRow snapshot, SourceRestorer restorer, SourceRestorer.Plan plan) {
        MDC.put("restore_id", row.id());
        MDC.put("source", snapshot.sourceName());
        try {
            restores.started(row.id(), clock.instant());
            inFlight.put(row.id(), Map.entry(snapshot.sourceName(), 0L));
            checkGoingOn(row.id()); // cancelled while queued
            RestorePass.Applied applied = pass.fromHealthiestCopy(row, snapshot, restorer, plan, new RestorePass.Progress(
                    () -> checkGoingOn(row.id()),
                    (phase, done, total) -> {
                        if (phase == RestorePhase.RECOVERING) {
                            recovering.put(row.id(), new Recovering(snapshot.sourceName(), done, total));
                        }
                        restores.progress(row.id(), phase, done, total, clock.instant());
                    },
                    bytes -> inFlight.computeIfPresent(row.id(), (id, entry) -> Map.entry(entry.getKey(), bytes))));
            String detail = applied.detail();
            restores.complete(row.id(), clock.instant(), detail, applied.recoveredTo());
            record(snapshot, row.dryRun() ? "dry_run" : "completed", row); // a dry run restored nothing: counted apart
            audit(row.requestedBy(), "restore.finished", row.id(), AuditOutcome.SUCCEEDED, detail);
            LOG.info("Restore {} of snapshot {} completed: {}", row.id(), snapshot.id(), detail);
        } catch (Exception e) {
            String by = cancelled.get(row.id());
            String reason = by != null ? CANCELLED + by + "; the target was left as it was" : SnapshotService.reason(e);
            if (by != null) {
                restores.cancel(row.id(), clock.instant(), reason);
            } else {
                restores.fail(row.id(), clock.instant(), reason);
            }
            record(snapshot, by != null ? "cancelled" : "failed", row);
            audit(by != null ? by : row.requestedBy(), "restore.finished", row.id(), by != null ? AuditOutcome.CANCELLED
                    : AuditOutcome.FAILED, reason);
            if (by != null) {
                LOG.info("Restore {} of snapshot {} cancelled: {}", row.id(), snapshot.id(), reason); // asked for: not an error
            } else {
                LOG.error("Restore {} of snapshot {} failed: {}", row.id(), snapshot.id(), reason);
            }
        } finally {
            cancelled.remove(row.id());
            inFlight.remove(row.id());
            recovering.remove(row.id());
            busyTargets.remove(plan.key(), row.id());
            MDC.remove("restore_id");
            MDC.remove("source");
        }
    }

    private void record(SnapshotRow snapshot, String outcome, RestoreRow row) {
        String source = snapshot.sourceName();
        metrics.meter(MetricName.of("backstop.restores", "source", source, "outcome", outcome)).mark();
        metrics.timer(MetricName.of("backstop.restore.duration", "source", source))
                .update(java.time.Duration.between(row.createdAt(), clock.instant()));
        if (outcome.equals("completed")) {
            metrics.meter(MetricName.of("backstop.restore.bytes", "source", source)).mark(snapshot.storedBytes());
        }
    }

    private void audit(String actor, String action, String restoreId, AuditOutcome outcome, String detail) {
        audit.append(new AuditEvent(null, clock.instant(), actor, action, "restore", restoreId, outcome,
                detail.length() > 8000 ? detail.substring(0, 8000) : detail));
    }

    private static BackstopException invalid(String detail) {
        return new BackstopException(ProblemType.VALIDATION_FAILED, detail);
    }
}
