package dev.backstop.db;

import dev.backstop.model.SnapshotStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The {@code snapshots} table. */
@RegisterConstructorMapper(SnapshotRow.class)
@RegisterConstructorMapper(SnapshotDao.Retained.class)
public interface SnapshotDao {

    /**
     * A source's COMPLETED snapshots: how many, what they hold whole ({@code storedBytes}: a
     * chunked snapshot counts every chunk it names) and what they added to storage when written
     * ({@code addedBytes}: a whole-object snapshot adds all of itself).
     */
    record Retained(String sourceName, long snapshots, long storedBytes, long addedBytes) {}

    @SqlQuery("""
            SELECT source_name, COUNT(*) AS snapshots, COALESCE(SUM(stored_bytes), 0) AS stored_bytes,
                   COALESCE(SUM(COALESCE(added_bytes, stored_bytes)), 0) AS added_bytes
            FROM snapshots WHERE status = 'COMPLETED' GROUP BY source_name ORDER BY source_name
            """)
    List<Retained> retained();

    @SqlUpdate("""
            INSERT INTO snapshots (id, source_name, source_type, status, origin, requested_by, started_at, node, scheduled_for,
                                   running_source)
            VALUES (:id, :sourceName, :sourceType, :status, :origin, :requestedBy, :startedAt, :node, :scheduledFor, :sourceName)
            """)
    void insert(@BindMethods SnapshotRow row);

    /** The row a scheduled fire time produced, if any. */
    @SqlQuery("SELECT * FROM snapshots WHERE source_name = :source AND scheduled_for = :scheduledFor")
    Optional<SnapshotRow> findScheduled(@Bind("source") String source, @Bind("scheduledFor") Instant scheduledFor);

    /**
     * A recovered job takes over the row of its fire time that a dead node left RUNNING (or that a
     * startup pass already marked FAILED): RUNNING again, on this node. False if the row is in any other state.
     */
    @SqlUpdate("""
            UPDATE snapshots SET status = 'RUNNING', node = :node, started_at = :startedAt, finished_at = NULL, error = NULL,
                   running_source = source_name
            WHERE id = :id AND status IN ('RUNNING', 'FAILED')
            """)
    boolean takeOver(@Bind("id") String id, @Bind("node") String node, @Bind("startedAt") Instant startedAt);

    /** COMPLETED snapshots of a source, newest first (what retention decides about). */
    @SqlQuery("SELECT * FROM snapshots WHERE source_name = :source AND status = 'COMPLETED' ORDER BY id DESC")
    List<SnapshotRow> completed(@Bind("source") String source);

    /** Records a verification drill's outcome. */
    @SqlUpdate("""
            UPDATE snapshots SET verified_at = :at, verify_status = :status, verify_detail = :detail WHERE id = :id
            """)
    boolean recordVerification(@Bind("id") String id, @Bind("at") Instant at, @Bind("status") String status,
            @Bind("detail") String detail);

    /** The point in time a passing point-in-time drill restored the snapshot (a base backup) to. */
    @SqlUpdate("UPDATE snapshots SET verified_point = :point WHERE id = :id")
    boolean recordVerifiedPoint(@Bind("id") String id, @Bind("point") Instant point);

    /**
     * The newest point a drill has proven restorable for a source: the latest {@code verified_point}
     * of its COMPLETED snapshots whose last drill passed.
     */
    @SqlQuery("""
            SELECT MAX(verified_point) FROM snapshots
            WHERE source_name = :source AND status = 'COMPLETED' AND verify_status = 'PASSED'
            """)
    Optional<Instant> newestVerifiedPoint(@Bind("source") String source);

    /** The newest snapshot of a source whose latest verification drill passed. */
    @SqlQuery("""
            SELECT * FROM snapshots WHERE source_name = :source AND status = 'COMPLETED' AND verify_status = 'PASSED'
            ORDER BY id DESC LIMIT 1
            """)
    Optional<SnapshotRow> newestVerified(@Bind("source") String source);

    /** A complete row, as recreated from a manifest. */
    @SqlUpdate("""
            INSERT INTO snapshots (id, source_name, source_type, status, origin, requested_by, started_at, finished_at,
                                   raw_bytes, stored_bytes, sha256, storage_target, storage_key, manifest_key, compression,
                                   encryption_fingerprint, verified_at, error, tool_versions, files_changed, files_vanished,
                                   storage_format, added_bytes)
            VALUES (:id, :sourceName, :sourceType, :status, :origin, :requestedBy, :startedAt, :finishedAt, :rawBytes,
                    :storedBytes, :sha256, :storageTarget, :storageKey, :manifestKey, :compression, :encryptionFingerprint,
                    :verifiedAt, :error, :toolVersions, :filesChanged, :filesVanished, :storageFormat, :addedBytes)
            """)
    void insertComplete(@BindMethods SnapshotRow row);

    @SqlQuery("SELECT * FROM snapshots WHERE id = :id")
    Optional<SnapshotRow> find(@Bind("id") String id);

    /** Newest first; {@code before} is an exclusive id cursor (null for the first page). */
    @SqlQuery("""
            SELECT * FROM snapshots
            WHERE (CAST(:source AS VARCHAR(200)) IS NULL OR source_name = :source)
              AND (CAST(:status AS VARCHAR(16)) IS NULL OR status = :status)
              AND (CAST(:before AS VARCHAR(26)) IS NULL OR id < :before)
              AND (CAST(:from AS TIMESTAMP WITH TIME ZONE) IS NULL OR started_at >= :from)
              AND (CAST(:to AS TIMESTAMP WITH TIME ZONE) IS NULL OR started_at < :to)
            ORDER BY id DESC
            LIMIT :limit
            """)
    List<SnapshotRow> list(@Bind("source") String source, @Bind("status") SnapshotStatus status,
            @Bind("from") Instant from, @Bind("to") Instant to, @Bind("before") String before, @Bind("limit") int limit);

    /** Newest first, without time filters. */
    default List<SnapshotRow> list(String source, SnapshotStatus status, String before, int limit) {
        return list(source, status, null, null, before, limit);
    }

    /** RUNNING rows of a source (normally none or one). */
    @SqlQuery("SELECT * FROM snapshots WHERE source_name = :source AND status = 'RUNNING'")
    List<SnapshotRow> running(@Bind("source") String source);

    /** Every RUNNING row, of any source and node. */
    @SqlQuery("SELECT * FROM snapshots WHERE status = 'RUNNING' ORDER BY id")
    List<SnapshotRow> allRunning();

    /** After its objects were removed: DELETED, or PRUNED when retention removed it. */
    @SqlUpdate("UPDATE snapshots SET status = :status WHERE id = :id AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')")
    boolean markRemoved(@Bind("id") String id, @Bind("status") SnapshotStatus status);

    /** Marks a RUNNING row COMPLETED with what the pipeline measured; false if it was not RUNNING. */
    @SqlUpdate("""
            UPDATE snapshots SET status = 'COMPLETED', finished_at = :finishedAt, raw_bytes = :rawBytes,
                   stored_bytes = :storedBytes, sha256 = :sha256, storage_target = :storageTarget,
                   storage_key = :storageKey, manifest_key = :manifestKey, compression = :compression,
                   encryption_fingerprint = :encryptionFingerprint, tool_versions = :toolVersions,
                   files_changed = :filesChanged, files_vanished = :filesVanished, running_source = NULL,
                   storage_format = :storageFormat, added_bytes = :addedBytes
            WHERE id = :id AND status = 'RUNNING'
            """)
    boolean complete(@BindMethods SnapshotRow row);

    /** While RUNNING: the bytes read from the source and stored so far (final values once COMPLETED). */
    @SqlUpdate("UPDATE snapshots SET raw_bytes = :raw, stored_bytes = :stored WHERE id = :id AND status = 'RUNNING'")
    boolean progress(@Bind("id") String id, @Bind("raw") long raw, @Bind("stored") long stored);

    /** Marks a RUNNING row CANCELLED (an operator stopped it); false if it was not RUNNING. */
    @SqlUpdate("""
            UPDATE snapshots SET status = 'CANCELLED', finished_at = :finishedAt, error = :error, running_source = NULL
            WHERE id = :id AND status = 'RUNNING'
            """)
    boolean cancel(@Bind("id") String id, @Bind("finishedAt") Instant finishedAt, @Bind("error") String error);

    /** Marks a RUNNING row FAILED with the reason; false if it was not RUNNING. */
    @SqlUpdate("""
            UPDATE snapshots SET status = 'FAILED', finished_at = :finishedAt, error = :error, running_source = NULL
            WHERE id = :id AND status = 'RUNNING'
            """)
    boolean fail(@Bind("id") String id, @Bind("finishedAt") Instant finishedAt, @Bind("error") String error);

    /** After a crash of the only node: every RUNNING row is FAILED with the reason. Returns how many were marked. */
    @SqlUpdate("""
            UPDATE snapshots SET status = 'FAILED', finished_at = :now, error = :reason, running_source = NULL
            WHERE status = 'RUNNING'
            """)
    int failRunning(@Bind("now") Instant now, @Bind("reason") String reason);

    /** In a cluster: the RUNNING rows of one node (this one at startup, or a node found dead) turn FAILED. */
    @SqlUpdate("""
            UPDATE snapshots SET status = 'FAILED', finished_at = :now, error = :reason, running_source = NULL
            WHERE status = 'RUNNING' AND node = :node
            """)
    int failRunningOf(@Bind("node") String node, @Bind("now") Instant now, @Bind("reason") String reason);
}
