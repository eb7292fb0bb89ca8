package dev.backstop.db;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlBatch;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;
import org.jdbi.v3.sqlobject.transaction.Transaction;

/**
 * What repacking needs of the catalog ({@code 013-repack.sql}): the chunks each snapshot names,
 * how much of each pack they use, a lock per target so one node prunes it at a time, and a journal
 * of chunk-list rewrites so a pass that died mid-way is finished by the next. Part of
 * {@link RepositoryDao}.
 */
@RegisterConstructorMapper(RepackDao.PackUse.class)
@RegisterConstructorMapper(RepackDao.UseAfter.class)
@RegisterConstructorMapper(RepackDao.Rewrite.class)
@RegisterConstructorMapper(RepackDao.ListRef.class)
public interface RepackDao {

    /** A pack and the stored bytes of its chunks that a RUNNING or COMPLETED snapshot names. */
    record PackUse(String packKey, long storedBytes, long usedBytes) {}

    /** A pack's stored bytes, and those of its chunks named by a live snapshot now and once some are deleted. */
    record UseAfter(String packKey, long storedBytes, long usedBytes, long usedAfter) {}

    /** A chunk list being rewritten: what it hashed to before, what it hashes to after. */
    record Rewrite(String snapshotId, String target, String oldSha256, String newSha256, long newBytes, int packCount) {}

    /** Where a snapshot's chunk list and manifest are, and the list's SHA-256 the catalog holds. */
    record ListRef(String id, String storageKey, String manifestKey, String sha256, String status) {}

    @SqlBatch("INSERT INTO snapshot_chunks (snapshot_id, target, chunk_id) VALUES (:snapshot, :target, :chunkId)")
    void insertSnapshotChunks(@Bind("snapshot") String snapshotId, @Bind("target") String target,
            @Bind("chunkId") List<String> chunkIds);

    /** Every chunk the snapshot names is in {@code snapshot_chunks}: its packs may be repacked. */
    @SqlUpdate("INSERT INTO snapshot_chunk_sets (snapshot_id, target) VALUES (:snapshot, :target)")
    void chunkSetComplete(@Bind("snapshot") String snapshotId, @Bind("target") String target);

    @SqlUpdate("DELETE FROM snapshot_chunks WHERE snapshot_id = :snapshot")
    void deleteSnapshotChunks(@Bind("snapshot") String snapshotId);

    @SqlUpdate("DELETE FROM snapshot_chunk_sets WHERE snapshot_id = :snapshot")
    void deleteChunkSet(@Bind("snapshot") String snapshotId);

    default void dropSnapshotChunks(String snapshotId) {
        deleteChunkSet(snapshotId);
        deleteSnapshotChunks(snapshotId);
    }

    @SqlUpdate("DELETE FROM snapshot_chunks WHERE snapshot_id = :snapshot AND target = :target")
    void deleteSnapshotChunksOn(@Bind("snapshot") String snapshotId, @Bind("target") String target);

    @SqlUpdate("DELETE FROM snapshot_chunk_sets WHERE snapshot_id = :snapshot AND target = :target")
    void deleteChunkSetOn(@Bind("snapshot") String snapshotId, @Bind("target") String target);

    /** The record of one target's copy only (a snapshot's copy on a replica has its own). */
    default void dropSnapshotChunks(String snapshotId, String target) {
        deleteChunkSetOn(snapshotId, target);
        deleteSnapshotChunksOn(snapshotId, target);
    }

    @SqlUpdate("""
            DELETE FROM snapshot_chunk_sets WHERE snapshot_id IN (
                SELECT id FROM snapshots WHERE status NOT IN ('RUNNING', 'COMPLETED'))
            """)
    int dropStaleChunkSets();

    @SqlUpdate("""
            DELETE FROM snapshot_chunks WHERE snapshot_id IN (
                SELECT id FROM snapshots WHERE status NOT IN ('RUNNING', 'COMPLETED'))
            """)
    int dropStaleSnapshotChunks();

    @SqlUpdate("""
            DELETE FROM snapshot_list_shas WHERE snapshot_id IN (
                SELECT id FROM snapshots WHERE status NOT IN ('RUNNING', 'COMPLETED'))
            """)
    int dropStaleListShas();

    /**
     * LIVE packs of a target, written before {@code before}, that only COMPLETED snapshots of this
     * target with a complete chunk record reference (so every reader of them is known), with the
     * bytes of their chunks still named by a snapshot.
     */
    @SqlQuery("""
            SELECT p.pack_key, p.stored_bytes,
                   COALESCE((SELECT SUM(c.stored_length) FROM repo_chunks c
                             WHERE c.target = p.target AND c.pack_key = p.pack_key
                               AND EXISTS (SELECT 1 FROM snapshot_chunks sc JOIN snapshots s ON s.id = sc.snapshot_id
                                           WHERE sc.target = c.target AND sc.chunk_id = c.chunk_id
                                             AND s.status IN ('RUNNING', 'COMPLETED'))), 0) AS used_bytes
            FROM repo_packs p
            WHERE p.target = :target AND p.status = 'LIVE' AND p.stored_bytes > 0 AND p.created_at < :before
              AND EXISTS (SELECT 1 FROM snapshot_packs r WHERE r.target = p.target AND r.pack_key = p.pack_key)
              AND NOT EXISTS (SELECT 1 FROM snapshot_packs r JOIN snapshots s ON s.id = r.snapshot_id
                              WHERE r.target = p.target AND r.pack_key = p.pack_key
                                AND (s.status <> 'COMPLETED' OR s.storage_target <> p.target OR s.storage_key IS NULL
                                     OR s.manifest_key IS NULL
                                     OR NOT EXISTS (SELECT 1 FROM snapshot_chunk_sets cs
                                                    WHERE cs.snapshot_id = s.id AND cs.target = p.target)))
            ORDER BY p.pack_key
            """)
    List<PackUse> repackable(@Bind("target") String target, @Bind("before") Instant before);

    /**
     * LIVE packs the given snapshots reference that other RUNNING or COMPLETED snapshots still do
     * (so deleting the given ones does not free them whole), with the bytes of their chunks named by
     * any live snapshot, and by live snapshots other than the given ones: what a repack would then copy.
     */
    @SqlQuery("""
            SELECT p.pack_key, p.stored_bytes,
                   COALESCE((SELECT SUM(c.stored_length) FROM repo_chunks c
                             WHERE c.target = p.target AND c.pack_key = p.pack_key
                               AND EXISTS (SELECT 1 FROM snapshot_chunks sc JOIN snapshots s ON s.id = sc.snapshot_id
                                           WHERE sc.target = c.target AND sc.chunk_id = c.chunk_id
                                             AND s.status IN ('RUNNING', 'COMPLETED'))), 0) AS used_bytes,
                   COALESCE((SELECT SUM(c.stored_length) FROM repo_chunks c
                             WHERE c.target = p.target AND c.pack_key = p.pack_key
                               AND EXISTS (SELECT 1 FROM snapshot_chunks sc JOIN snapshots s ON s.id = sc.snapshot_id
                                           WHERE sc.target = c.target AND sc.chunk_id = c.chunk_id
                                             AND s.status IN ('RUNNING', 'COMPLETED') AND sc.snapshot_id NOT IN (<ids>))), 0)
                       AS used_after
            FROM repo_packs p
            WHERE p.status = 'LIVE' AND p.stored_bytes > 0
              AND EXISTS (SELECT 1 FROM snapshot_packs r WHERE r.target = p.target AND r.pack_key = p.pack_key
                          AND r.snapshot_id IN (<ids>))
              AND EXISTS (SELECT 1 FROM snapshot_packs r JOIN snapshots s ON s.id = r.snapshot_id
                          WHERE r.target = p.target AND r.pack_key = p.pack_key
                            AND s.status IN ('RUNNING', 'COMPLETED') AND r.snapshot_id NOT IN (<ids>))
            ORDER BY p.pack_key
            """)
    List<UseAfter> sharedPacksOf(@org.jdbi.v3.sqlobject.customizer.BindList("ids") List<String> snapshotIds);

    /**
     * COMPLETED chunked snapshots of a target without a record of the chunks they name (written
     * before that record existed): a prune reads their lists to make one, so their packs can be repacked too.
     */
    @SqlQuery("""
            SELECT id, storage_key, manifest_key, sha256, status FROM snapshots s
            WHERE s.storage_target = :target AND s.status = 'COMPLETED' AND s.storage_format = 'chunked-1'
              AND NOT EXISTS (SELECT 1 FROM snapshot_chunk_sets cs WHERE cs.snapshot_id = s.id AND cs.target = :target)
            ORDER BY id LIMIT :limit
            """)
    List<ListRef> withoutChunkRecord(@Bind("target") String target, @Bind("limit") int limit);

    /** The chunks of a pack that a RUNNING or COMPLETED snapshot names, in pack order. */
    @SqlQuery("""
            SELECT c.chunk_id, c.pack_key, c.pack_offset, c.stored_length, c.raw_length, c.stored_sha256 FROM repo_chunks c
            WHERE c.target = :target AND c.pack_key = :key
              AND EXISTS (SELECT 1 FROM snapshot_chunks sc JOIN snapshots s ON s.id = sc.snapshot_id
                          WHERE sc.target = c.target AND sc.chunk_id = c.chunk_id AND s.status IN ('RUNNING', 'COMPLETED'))
            ORDER BY c.pack_offset
            """)
    List<RepositoryDao.ChunkRow> usedChunksOf(@Bind("target") String target, @Bind("key") String packKey);

    @SqlUpdate("UPDATE repo_packs SET status = 'LIVE' WHERE target = :target AND pack_key = :key AND status = 'PENDING'")
    int goLive(@Bind("target") String target, @Bind("key") String packKey);

    @SqlUpdate("UPDATE repo_packs SET stored_bytes = :bytes, chunk_count = :chunks WHERE target = :target AND pack_key = :key")
    void sealPack(@Bind("target") String target, @Bind("key") String packKey, @Bind("bytes") long bytes, @Bind("chunks") int chunks);

    @SqlBatch("UPDATE repo_chunks SET pack_key = :packKey, pack_offset = :packOffset WHERE target = :target AND chunk_id = :chunkId")
    void relocate(@Bind("target") String target, @BindMethods List<RepositoryDao.ChunkRow> chunks);

    /**
     * A repacked pack is stored: it becomes LIVE and the index points its chunks at it, at once.
     * False (nothing changed) when the pack is no longer PENDING.
     */
    @Transaction
    default boolean moved(String target, String packKey, long bytes, List<RepositoryDao.ChunkRow> chunks) {
        sealPack(target, packKey, bytes, chunks.size());
        if (goLive(target, packKey) != 1) {
            return false;
        }
        relocate(target, chunks);
        return true;
    }

    @SqlUpdate("DELETE FROM snapshot_packs WHERE snapshot_id = :snapshot AND target = :target AND pack_key = :key")
    void unreference(@Bind("snapshot") String snapshotId, @Bind("target") String target, @Bind("key") String packKey);

    @SqlQuery("SELECT id, storage_key, manifest_key, sha256, status FROM snapshots WHERE id = :id")
    Optional<ListRef> listOf(@Bind("id") String snapshotId);

    @SqlQuery("SELECT pack_key FROM snapshot_packs WHERE snapshot_id = :snapshot AND target = :target ORDER BY pack_key")
    List<String> packsOf(@Bind("snapshot") String snapshotId, @Bind("target") String target);

    @SqlUpdate("UPDATE snapshots SET sha256 = :sha WHERE id = :id AND sha256 = :old")
    int replaceListSha(@Bind("id") String snapshotId, @Bind("old") String oldSha256, @Bind("sha") String newSha256);

    @SqlUpdate("""
            INSERT INTO repo_rewrites (snapshot_id, target, old_sha256, new_sha256, new_bytes, pack_count, started_at)
            VALUES (:snapshotId, :target, :oldSha256, :newSha256, :newBytes, :packCount, :now)
            """)
    void journal(@BindMethods Rewrite rewrite, @Bind("now") Instant now);

    @SqlQuery("""
            SELECT snapshot_id, target, old_sha256, new_sha256, new_bytes, pack_count FROM repo_rewrites
            WHERE target = :target ORDER BY snapshot_id
            """)
    List<Rewrite> rewrites(@Bind("target") String target);

    @SqlUpdate("DELETE FROM repo_rewrites WHERE snapshot_id = :snapshot")
    void rewritten(@Bind("snapshot") String snapshotId);

    @SqlUpdate("""
            INSERT INTO snapshot_list_shas (snapshot_id, sha256)
            SELECT :snapshot, :sha FROM (VALUES (0)) AS one (x)
            WHERE NOT EXISTS (SELECT 1 FROM snapshot_list_shas WHERE snapshot_id = :snapshot AND sha256 = :sha)
            """)
    void acceptListSha(@Bind("snapshot") String snapshotId, @Bind("sha") String sha256);

    /** The SHA-256s a snapshot's chunk list had before repacks rewrote it (the catalog's current one aside). */
    @SqlQuery("SELECT sha256 FROM snapshot_list_shas WHERE snapshot_id = :snapshot")
    List<String> acceptedListShas(@Bind("snapshot") String snapshotId);

    @SqlUpdate("INSERT INTO repo_locks (target, holder, expires_at) VALUES (:target, :holder, :until)")
    void insertLock(@Bind("target") String target, @Bind("holder") String holder, @Bind("until") Instant until);

    @SqlUpdate("""
            UPDATE repo_locks SET holder = :holder, expires_at = :until
            WHERE target = :target AND (expires_at < :now OR holder = :holder)
            """)
    int takeLock(@Bind("target") String target, @Bind("holder") String holder, @Bind("now") Instant now,
            @Bind("until") Instant until);

    @SqlUpdate("DELETE FROM repo_locks WHERE target = :target AND holder = :holder")
    void releaseLock(@Bind("target") String target, @Bind("holder") String holder);

    /** One prune of a target at a time across nodes; a holder that died loses the lock at {@code until}. */
    default boolean lock(String target, String holder, Instant now, Instant until) {
        try {
            insertLock(target, holder, until);
            return true;
        } catch (RuntimeException e) {
            if (!Constraints.isUniqueViolation(e)) {
                throw e;
            }
            return takeLock(target, holder, now, until) == 1;
        }
    }
}
