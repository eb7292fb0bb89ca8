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
 * A pass (1) drops the references of snapshots that are gone, (2) makes LIVE again a condemned
 * pack that a snapshot referenced meanwhile, (3) sweeps (deletes) packs condemned more than the
 * grace period ago, (4) condemns LIVE packs no RUNNING or COMPLETED snapshot references. A writer
 * never reuses a chunk of a condemned pack, and one that found a chunk just before the mark has
 * recorded its reference long before the grace period ends, so a swept pack is one nobody reads.
 * A restore reads only packs its (COMPLETED) snapshot references, which are never condemned.
 */
public final class RepositoryPruner {
    private static final Logger LOG = LoggerFactory.getLogger(RepositoryPruner.class);

    private final Repositories repositories;
    private final Duration grace;

    public RepositoryPruner(Repositories repositories, Duration grace) {
        this.repositories = repositories;
        this.grace = grace;
    }

    /** What a pass did. */
    public record Outcome(String target, int condemned, int revived, int swept, long freedBytes, List<String> failed) {}

    public synchronized Outcome prune(ChunkRepository repository, Instant now) {
        RepositoryDao dao = repositories.dao();
        String target = repository.targetName();
        dao.dropStaleReferences();
        int revived = dao.revive(target);
        int swept = 0;
        long freed = 0;
        List<String> failed = new java.util.ArrayList<>();
        for (RepositoryDao.PackRow pack : dao.sweepable(target, now.minus(grace))) {
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
        int condemned = dao.condemn(target, now);
        if (swept > 0 || condemned > 0 || revived > 0) {
            LOG.info("Prune of repository {}: deleted {} packs ({} bytes), condemned {} (deleted after {}), revived {}", target, swept,
                    freed, condemned, grace, revived);
        }
        return new Outcome(target, condemned, revived, swept, freed, List.copyOf(failed));
    }

    /** A pass over every target's repository. */
    public List<Outcome> pruneAll(Instant now) {
        return repositories.all().stream().map(repository -> prune(repository, now)).toList();
    }
}
