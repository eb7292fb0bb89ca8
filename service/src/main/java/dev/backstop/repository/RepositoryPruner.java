package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes packs no snapshot references, safely while snapshots and restores run: mark, wait, sweep.
 * A pass holds the target's lock in the catalog (one node prunes a target at a time) and (1) drops
 * the references of snapshots that are gone, finishes chunk-list rewrites a dead pass left, (2)
 * makes LIVE again a condemned pack that a snapshot referenced meanwhile, (3) sweeps (deletes)
 * packs condemned more than the grace period ago, (4) rewrites mostly unused packs
 * ({@link RepositoryRepacker}), (5) condemns LIVE packs no RUNNING or COMPLETED snapshot references. A writer
 * never reuses a chunk of a condemned pack, and one that found a chunk just before the mark has
 * recorded its reference long before the grace period ends, so a swept pack is one nobody reads.
 * A restore reads only packs its (COMPLETED) snapshot references, which are never condemned.
 */
public final class RepositoryPruner {
    private static final Logger LOG = LoggerFactory.getLogger(RepositoryPruner.class);

    /** How long a pass may hold a target's lock before another node may take it (a node that died mid-pass). */
    private static final Duration LEASE = Duration.ofHours(6);
    /** Restores older than this do not hold back a sweep (a row a dead node left unfinished). */
    private static final Duration RESTORES_WITHIN = Duration.ofDays(1);

    private final Repositories repositories;
    private final Duration grace;
    private final RepositoryRepacker repacker;
    private final String holder = "pruner-" + java.util.UUID.randomUUID();

    public RepositoryPruner(Repositories repositories, Duration grace) {
        this(repositories, grace, 0.5);
    }

    /** @param repackThreshold a pack whose chunks in use take less than this share of it is rewritten (0: never) */
    public RepositoryPruner(Repositories repositories, Duration grace, double repackThreshold) {
        this.repositories = repositories;
        this.grace = grace;
        this.repacker = new RepositoryRepacker(repackThreshold);
    }

    /**
     * Stored bytes that deleting these chunked snapshots frees: the packs only they reference (swept
     * after the grace period), and what the repack of a pack they share then reclaims, where the
     * chunks still named by others fall under the threshold (as much as the deletion adds to that
     * reclaim: a pack already under it is reclaimed anyway, and counts only for what it loses).
     */
    public long freedBy(List<String> snapshotIds) {
        RepositoryDao dao = repositories.dao();
        long bytes = dao.freedBy(snapshotIds);
        return bytes + repacker.reclaimedAfter(dao.sharedPacksOf(snapshotIds));
    }

    /** What a pass did; {@code skipped} when another node was pruning the target. */
    public record Outcome(String target, int condemned, int revived, int swept, long freedBytes, List<String> failed,
            RepositoryRepacker.Outcome repacked, boolean skipped) {}

    public synchronized Outcome prune(ChunkRepository repository, Instant now) {
        RepositoryDao dao = repositories.dao();
        String target = repository.targetName();
        if (!dao.lock(target, holder, now, now.plus(LEASE))) {
            LOG.info("Prune of repository {} skipped: another node is pruning it", target);
            return new Outcome(target, 0, 0, 0, 0, List.of(), RepositoryRepacker.Outcome.NONE, true);
        }
        try {
            return pruneLocked(repository, now);
        } finally {
            dao.releaseLock(target, holder);
        }
    }

    private Outcome pruneLocked(ChunkRepository repository, Instant now) {
        RepositoryDao dao = repositories.dao();
        String target = repository.targetName();
        dao.dropStaleReferences();
        repacker.finishJournal(repository);
        int revived = dao.revive(target);
        int swept = 0;
        long freed = 0;
        List<String> failed = new java.util.ArrayList<>();
        for (RepositoryDao.PackRow pack : dao.sweepable(target, now.minus(grace), now.minus(RESTORES_WITHIN))) {
            try {
                repository.target().delete(pack.packKey());
                dao.forget(target, pack.packKey());
                swept++;
                freed += pack.storedBytes();
            } catch (IOException | RuntimeException e) {
                failed.add(pack.packKey());
                LOG.warn("Prune could not delete pack {} from {}: {}; the next prune tries again", pack.packKey(), target,
                        e.getMessage());
            }
        }
        repacker.recordChunks(repository);
        RepositoryRepacker.Outcome repacked = repacker.repack(repository, now.minus(grace), now);
        int condemned = dao.condemn(target, now);
        if (swept > 0 || condemned > 0 || revived > 0) {
            LOG.info("Prune of repository {}: deleted {} packs ({} bytes), condemned {} (deleted after {}), revived {}", target, swept,
                    freed, condemned, grace, revived);
        }
        return new Outcome(target, condemned, revived, swept, freed, List.copyOf(failed), repacked, false);
    }

    /** A pass over every target's repository. */
    public List<Outcome> pruneAll(Instant now) {
        return repositories.all().stream().map(repository -> prune(repository, now)).toList();
    }
}
