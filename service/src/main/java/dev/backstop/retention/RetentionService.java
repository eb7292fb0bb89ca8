package dev.backstop.retention;

import dev.backstop.source.ArchivedLog;
import dev.backstop.core.BackstopException;
import dev.backstop.core.SnapshotService;
import dev.backstop.db.AuditDao;
import dev.backstop.db.AuditEvent;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.AuditOutcome;
import dev.backstop.model.RetentionPolicy;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.SourceRestorer;
import java.time.Clock;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies retention policies: plans with {@link Retention#plan}, then for each snapshot to delete
 * removes its objects and marks it PRUNED, with an audit row. A snapshot whose objects cannot be
 * removed stays COMPLETED and is tried again on the next run; running twice deletes nothing more.
 */
public final class RetentionService {
    private static final Logger LOG = LoggerFactory.getLogger(RetentionService.class);

    /** What a run did. */
    public record Outcome(String source, int kept, List<String> pruned, List<String> failed, List<ArchivedLog.LogRange> log,
            String logError) {}

    private final Map<String, SourceFactory> sources;
    private final Map<String, SourceRestorer> restorers;
    private final SnapshotDao dao;
    private final SnapshotService snapshots;
    private final AuditDao audit;
    private final ZoneId zone;
    private final Clock clock;

    public RetentionService(Map<String, SourceFactory> sources, Map<String, SourceRestorer> restorers, SnapshotDao dao,
            SnapshotService snapshots, AuditDao audit, ZoneId zone, Clock clock) {
        this.sources = Map.copyOf(sources);
        this.restorers = Map.copyOf(restorers);
        this.dao = dao;
        this.snapshots = snapshots;
        this.audit = audit;
        this.zone = zone;
        this.clock = clock;
    }

    private dev.backstop.repository.RepositoryPruner pruner;
    private dev.backstop.repository.Repositories repositories;

    /** After each run, packs no snapshot references are pruned (mark, grace period, sweep). */
    public RetentionService withRepositories(dev.backstop.repository.Repositories repositories,
            dev.backstop.repository.RepositoryPruner pruner) {
        this.repositories = repositories;
        this.pruner = pruner;
        return this;
    }

    /**
     * Stored bytes that deleting these snapshots would free: the whole objects of object-format
     * snapshots, the packs of chunked ones that no other snapshot references, and what repacking
     * then reclaims of packs the others use little of (both by the prune after the grace period).
     */
    public long freedBytes(List<String> ids) {
        long bytes = 0;
        List<String> chunked = new ArrayList<>();
        for (String id : ids) {
            SnapshotRow row = snapshots.find(id);
            if (row.chunked()) {
                chunked.add(id);
            } else if (row.storedBytes() != null) {
                bytes += row.storedBytes();
            }
        }
        if (!chunked.isEmpty() && repositories != null) {
            bytes += pruner != null ? pruner.freedBy(chunked) : repositories.dao().freedBy(chunked);
        }
        return bytes;
    }

    public ZoneId zone() {
        return zone;
    }

    /** The source's configured policy, or null when it keeps everything. */
    public RetentionPolicy policy(String source) {
        SourceFactory factory = sources.get(source);
        if (factory == null) {
            throw BackstopException.notFound("no source " + source);
        }
        return factory.retention();
    }

    /** What a run with {@code policy} would keep and delete now. */
    public List<Retention.Decision> plan(String source, RetentionPolicy policy) {
        List<Retention.Candidate> candidates = dao.completed(source).stream()
                .map(row -> new Retention.Candidate(row.id(), row.startedAt(), row.verified(),
                        row.origin() == SnapshotOrigin.REBUILT && row.verifyStatus() == null))
                .toList();
        if (policy == null) {
            return candidates.stream()
                    .map(c -> new Retention.Decision(c.id(), c.time(), true, List.of("no retention policy: everything is kept")))
                    .toList();
        }
        return Retention.plan(candidates, policy, zone);
    }

    /**
     * The archived log a run with {@code policy} would delete (postgres-cluster: WAL before the
     * oldest kept base backup the window needs); null for a type without a log.
     */
    public List<ArchivedLog.LogRange> logPlan(String source, RetentionPolicy policy) {
        SourceRestorer restorer = restorers.get(source);
        if (restorer == null || !restorer.archivedLog().isPresent()) {
            return null;
        }
        if (policy == null || !policy.hasRules()) {
            return List.of(); // no retention run: nothing is deleted, base backups nor log
        }
        java.util.Set<String> keep = new java.util.HashSet<>();
        plan(source, policy).stream().filter(Retention.Decision::keep).forEach(d -> keep.add(d.id()));
        try {
            return restorer.archivedLog().orElseThrow().prune(kept(source, keep), clock.instant(), true);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot list the archived log of " + source + ": " + e.getMessage(), e);
        }
    }

    private List<ArchivedLog.KeptSnapshot> kept(String source, java.util.Set<String> ids) {
        return dao.completed(source).stream().filter(row -> ids == null || ids.contains(row.id()))
                .map(row -> new ArchivedLog.KeptSnapshot(row.id(), row.startedAt(), row.finishedAt())).toList();
    }

    /**
     * After snapshots are pruned: the log the snapshots still COMPLETED no longer need goes too.
     * Returns the ranges deleted; null when the deletion failed (logged and audited, tried again on the next run).
     */
    private List<ArchivedLog.LogRange> pruneLog(String source, String actor, String why) {
        SourceRestorer restorer = restorers.get(source);
        if (restorer == null || !restorer.archivedLog().isPresent()) {
            return List.of();
        }
        try {
            List<ArchivedLog.LogRange> ranges = restorer.archivedLog().orElseThrow().prune(kept(source, null), clock.instant(), false);
            for (ArchivedLog.LogRange range : ranges) {
                audit.append(new AuditEvent(null, clock.instant(), actor, "log.pruned", "source", source, AuditOutcome.SUCCEEDED,
                        why + ": " + range.objects() + " objects " + range.from() + ".." + range.to() + ", " + range.reason()));
            }
            return ranges;
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("Retention could not prune the archived log of {}: {}", source, e.getMessage());
            audit.append(new AuditEvent(null, clock.instant(), actor, "log.pruned", "source", source, AuditOutcome.FAILED,
                    e.getMessage()));
            return null;
        }
    }

    /** Runs the source's configured policy. */
    public Outcome apply(String source, String actor) {
        return apply(source, policy(source), actor, "retention");
    }

    /** Runs {@code policy} for a source: deletes what it does not keep. */
    public Outcome apply(String source, RetentionPolicy policy, String actor, String why) {
        List<Retention.Decision> plan = plan(source, policy);
        List<String> pruned = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        int kept = 0;
        for (Retention.Decision decision : plan) {
            if (decision.keep()) {
                kept++;
                continue;
            }
            try {
                SnapshotRow row = snapshots.remove(decision.id(), actor, SnapshotStatus.PRUNED);
                if (row.status() == SnapshotStatus.PRUNED) {
                    pruned.add(decision.id());
                    audit.append(new AuditEvent(null, clock.instant(), actor, "snapshot.pruned", "snapshot", decision.id(),
                            AuditOutcome.SUCCEEDED, why + ": no " + (policy == null ? "" : "rule of the policy ") + "keeps it"));
                }
            } catch (RuntimeException e) {
                failed.add(decision.id());
                LOG.warn("Retention could not prune snapshot {} of {}: {}", decision.id(), source, e.getMessage());
                audit.append(new AuditEvent(null, clock.instant(), actor, "snapshot.pruned", "snapshot", decision.id(),
                        AuditOutcome.FAILED, e.getMessage()));
            }
        }
        List<ArchivedLog.LogRange> log = pruneLog(source, actor, why);
        if (pruner != null) {
            try {
                pruner.pruneAll(clock.instant());
            } catch (RuntimeException e) {
                LOG.warn("Prune of the chunk repositories failed: {}; the next retention run tries again", e.getMessage());
            }
        }
        if (!pruned.isEmpty() || !failed.isEmpty()) {
            LOG.info("Retention of {} ({}): kept {}, pruned {}, could not prune {}", source, why, kept, pruned.size(), failed.size());
        }
        return new Outcome(source, kept, List.copyOf(pruned), List.copyOf(failed), log == null ? List.of() : log,
                log == null ? "could not prune the archived log (see the audit log)" : null);
    }
}
