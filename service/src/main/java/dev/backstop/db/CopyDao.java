package dev.backstop.db;

import java.time.Instant;
import java.util.List;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The {@code snapshot_copies} table. */
@RegisterConstructorMapper(CopyRow.class)
public interface CopyDao {

    @SqlUpdate("""
            INSERT INTO snapshot_copies (snapshot_id, target, status, copied_at)
            VALUES (:snapshotId, :target, 'COPIED', :copiedAt)
            """)
    void insertCopied(@Bind("snapshotId") String snapshotId, @Bind("target") String target, @Bind("copiedAt") Instant copiedAt);

    @SqlUpdate("INSERT INTO snapshot_copies (snapshot_id, target, status) VALUES (:snapshotId, :target, 'PENDING')")
    void insertPending(@Bind("snapshotId") String snapshotId, @Bind("target") String target);

    @SqlQuery("SELECT * FROM snapshot_copies WHERE snapshot_id = :snapshotId ORDER BY target")
    List<CopyRow> forSnapshot(@Bind("snapshotId") String snapshotId);

    /** Copies a target still lacks, of snapshots that are COMPLETED, oldest first, due now. */
    @SqlQuery("""
            SELECT c.* FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id
            WHERE c.target = :target AND c.status IN ('PENDING', 'FAILED') AND s.status = 'COMPLETED'
              AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= :now)
            ORDER BY c.snapshot_id
            LIMIT :limit
            """)
    List<CopyRow> due(@Bind("target") String target, @Bind("now") Instant now, @Bind("limit") int limit);

    /**
     * COMPLETED snapshots of a source that have no copy row for a target at all (taken before the
     * target became one of the source's replicas), newest first.
     */
    @SqlQuery("""
            SELECT s.id FROM snapshots s
            WHERE s.source_name = :source AND s.status = 'COMPLETED' AND (s.storage_target IS NULL OR s.storage_target <> :target)
              AND NOT EXISTS (SELECT 1 FROM snapshot_copies c WHERE c.snapshot_id = s.id AND c.target = :target)
            ORDER BY s.started_at DESC
            LIMIT :limit
            """)
    List<String> neverCopied(@Bind("source") String source, @Bind("target") String target, @Bind("limit") int limit);

    /** How far a target is behind: copies not yet made, and the start time of the oldest such snapshot. */
    @SqlQuery("""
            SELECT COUNT(*) FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id
            WHERE c.target = :target AND c.status IN ('PENDING', 'FAILED') AND s.status = 'COMPLETED'
            """)
    int lagging(@Bind("target") String target);

    @SqlQuery("""
            SELECT MIN(s.finished_at) FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id
            WHERE c.target = :target AND c.status IN ('PENDING', 'FAILED') AND s.status = 'COMPLETED'
            """)
    Instant oldestLagging(@Bind("target") String target);

    @SqlUpdate("""
            UPDATE snapshot_copies SET status = 'COPIED', copied_at = :at, error = NULL, next_attempt_at = NULL,
                   attempts = attempts + 1
            WHERE snapshot_id = :snapshotId AND target = :target
            """)
    void copied(@Bind("snapshotId") String snapshotId, @Bind("target") String target, @Bind("at") Instant at);

    @SqlUpdate("""
            UPDATE snapshot_copies SET status = 'FAILED', error = :error, next_attempt_at = :next, attempts = attempts + 1
            WHERE snapshot_id = :snapshotId AND target = :target
            """)
    void failed(@Bind("snapshotId") String snapshotId, @Bind("target") String target, @Bind("error") String error,
            @Bind("next") Instant next);
}
