package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What each target's repository holds: packs, stored bytes and chunks by pack state (LIVE,
 * PENDING while a snapshot writes, CONDEMNED until a prune deletes them). Read from the catalog at
 * most once per {@code ttl}, so scrapes and page loads do not query it each time; a catalog that
 * cannot be read keeps the last figures.
 */
public final class RepositoryUsage {
    private final RepositoryDao dao;
    private final Clock clock;
    private final Duration ttl;
    private volatile Read last;

    private record Read(Instant at, List<RepositoryDao.PackTotals> totals) {}

    /** One target's packs in one state. */
    public record Totals(long packs, long storedBytes, long chunks) {
        static final Totals NONE = new Totals(0, 0, 0);
    }

    public RepositoryUsage(RepositoryDao dao, Clock clock, Duration ttl) {
        this.dao = dao;
        this.clock = clock;
        this.ttl = ttl;
    }

    /** The packs of {@code target} in {@code status} (PENDING, LIVE or CONDEMNED). */
    public Totals of(String target, String status) {
        return totals().stream().filter(t -> t.target().equals(target) && t.status().equals(status)).findFirst()
                .map(t -> new Totals(t.packs(), t.storedBytes(), t.chunks())).orElse(Totals.NONE);
    }

    private List<RepositoryDao.PackTotals> totals() {
        Instant now = clock.instant();
        Read read = last;
        if (read == null || Duration.between(read.at(), now).compareTo(ttl) >= 0) {
            try {
                read = new Read(now, dao.totals());
            } catch (RuntimeException e) {
                if (read == null) {
                    throw e;
                }
                read = new Read(now, read.totals()); // the catalog is down: the last figures, tried again after ttl
            }
            last = read;
        }
        return read.totals();
    }
}
