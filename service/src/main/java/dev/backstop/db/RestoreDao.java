package dev.backstop.db;

import dev.backstop.model.RestorePhase;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The {@code restores} table. */
@RegisterConstructorMapper(RestoreRow.class)
public interface RestoreDao {

    @SqlUpdate("""
            INSERT INTO restores (id, snapshot_id, phase, mode, dry_run, target, requested_by, bytes_done,
                                  bytes_total, created_at, started_at, finished_at, error, detail)
            VALUES (:id, :snapshotId, :phase, :mode, :dryRun, :target, :requestedBy, :bytesDone,
                    :bytesTotal, :createdAt, :startedAt, :finishedAt, :error, :detail)
            """)
    void insert(@BindMethods RestoreRow row);

    @SqlQuery("SELECT * FROM restores WHERE id = :id")
    Optional<RestoreRow> find(@Bind("id") String id);

    @SqlQuery("""
            SELECT * FROM restores
            WHERE (CAST(:before AS VARCHAR(26)) IS NULL OR id < :before)
            ORDER BY id DESC
            LIMIT :limit
            """)
    List<RestoreRow> list(@Bind("before") String before, @Bind("limit") int limit);

    /** Moves a restore that is not final to a new phase, with progress. */
    @SqlUpdate("""
            UPDATE restores SET phase_started_at = CASE WHEN phase = :phase AND phase_started_at IS NOT NULL
                   THEN phase_started_at ELSE :now END, phase = :phase, bytes_done = :bytesDone, bytes_total = :bytesTotal
            WHERE id = :id AND phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
            """)
    boolean progress(@Bind("id") String id, @Bind("phase") RestorePhase phase, @Bind("bytesDone") long bytesDone,
            @Bind("bytesTotal") Long bytesTotal, @Bind("now") Instant now);

    /** An operator cancelled it: final, with the reason, cleaned up as a failure is. */
    @SqlUpdate("""
            UPDATE restores SET phase = 'CANCELLED', finished_at = :finishedAt, error = :error
            WHERE id = :id AND phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
            """)
    boolean cancel(@Bind("id") String id, @Bind("finishedAt") Instant finishedAt, @Bind("error") String error);

    /** The restore has started working. */
    @SqlUpdate("UPDATE restores SET started_at = :startedAt WHERE id = :id")
    void started(@Bind("id") String id, @Bind("startedAt") Instant startedAt);

    @SqlUpdate("""
            UPDATE restores SET phase = 'COMPLETED', finished_at = :finishedAt, detail = :detail, recovered_to = :recoveredTo
            WHERE id = :id AND phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
            """)
    boolean complete(@Bind("id") String id, @Bind("finishedAt") Instant finishedAt, @Bind("detail") String detail,
            @Bind("recoveredTo") Instant recoveredTo);

    @SqlUpdate("""
            UPDATE restores SET phase = 'FAILED', finished_at = :finishedAt, error = :error
            WHERE id = :id AND phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
            """)
    boolean fail(@Bind("id") String id, @Bind("finishedAt") Instant finishedAt, @Bind("error") String error);

    /** Restores not finished, with the node running them ({@code node} may be null for rows of older versions). */
    @SqlQuery("SELECT id, node FROM restores WHERE phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')")
    @org.jdbi.v3.sqlobject.config.KeyColumn("id")
    @org.jdbi.v3.sqlobject.config.ValueColumn("node")
    java.util.Map<String, String> unfinished();

    /** Restores that failed since a time (for health). */
    @SqlQuery("SELECT COUNT(*) FROM restores WHERE phase = 'FAILED' AND finished_at >= :since")
    int failedSince(@Bind("since") Instant since);

    /** After a crash: restores that were not final are FAILED with the reason. */
    @SqlUpdate("""
            UPDATE restores SET phase = 'FAILED', finished_at = :now, error = :reason
            WHERE phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
            """)
    int failUnfinished(@Bind("now") Instant now, @Bind("reason") String reason);

    /** Records which node runs a restore (so a restarting node in a cluster fails only its own). */
    @SqlUpdate("UPDATE restores SET node = :node WHERE id = :id")
    void assignNode(@Bind("id") String id, @Bind("node") String node);

    /** In a cluster: restores of one node that were not final are FAILED with the reason. */
    @SqlUpdate("""
            UPDATE restores SET phase = 'FAILED', finished_at = :now, error = :reason
            WHERE phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') AND node = :node
            """)
    int failUnfinishedOf(@Bind("node") String node, @Bind("now") Instant now, @Bind("reason") String reason);
}
