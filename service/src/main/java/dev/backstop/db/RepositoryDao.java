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

/**
 * The chunk repositories' index: {@code repo_packs}, {@code repo_chunks}, {@code snapshot_packs},
 * {@code snapshot_files} and {@code repo_keys}. The index lives here, not in the heap, so memory
 * does not grow with the repository.
 *
 * <p>A pack is PENDING while the snapshot that writes it ({@code writer}) runs, LIVE once that
 * snapshot completed, CONDEMNED once a prune found no snapshot referencing it; chunks are reused
 * only from LIVE packs and the writer's own PENDING ones.
 */
@RegisterConstructorMapper(RepositoryDao.ChunkRow.class)
@RegisterConstructorMapper(RepositoryDao.PackRow.class)
@RegisterConstructorMapper(RepositoryDao.FileChunk.class)
@RegisterConstructorMapper(RepositoryDao.ParentChunk.class)
@RegisterConstructorMapper(RepositoryDao.PackTotals.class)
public interface RepositoryDao extends RepackDao {

    /** Packs of one target in one state, with their stored bytes and chunks. */
    record PackTotals(String target, String status, long packs, long storedBytes, long chunks) {}

    @SqlQuery("""
            SELECT target, status, COUNT(*) AS packs, COALESCE(SUM(stored_bytes), 0) AS stored_bytes,
                   COALESCE(SUM(chunk_count), 0) AS chunks
            FROM repo_packs GROUP BY target, status ORDER BY target, status
            """)
    List<PackTotals> totals();

    /** Where a chunk is stored. */
    record ChunkRow(String chunkId, String packKey, long packOffset, int storedLength, int rawLength, String storedSha256) {}

    record PackRow(String packKey, long storedBytes, int chunkCount, String status, String writer) {}

    /** One chunk of a file a directory snapshot stored ({@code seq} orders a file's chunks). */
    record FileChunk(String path, long size, long mtimeNs, long ctimeNs, long inode, int seq, String chunkId, int rawLength) {}

    /** A parent's file chunk with where the chunk is now, and whether a new snapshot may reuse it (null when not indexed). */
    record ParentChunk(String path, long size, long mtimeNs, long ctimeNs, long inode, int seq, String chunkId, int rawLength,
            String packKey, Long packOffset, Integer storedLength, String storedSha256, String packStatus) {

        public FileChunk file() {
            return new FileChunk(path, size, mtimeNs, ctimeNs, inode, seq, chunkId, rawLength);
        }

        /** The chunk's location when its pack is LIVE, else null. */
        public ChunkRow reusable() {
            return "LIVE".equals(packStatus) ? new ChunkRow(chunkId, packKey, packOffset, storedLength, rawLength, storedSha256) : null;
        }
    }

    @SqlQuery("""
            SELECT c.chunk_id, c.pack_key, c.pack_offset, c.stored_length, c.raw_length, c.stored_sha256
            FROM repo_chunks c JOIN repo_packs p ON p.target = c.target AND p.pack_key = c.pack_key
            WHERE c.target = :target AND c.chunk_id = :id
              AND (p.status = 'LIVE' OR (p.status = 'PENDING' AND p.writer = :writer))
            """)
    Optional<ChunkRow> reusable(@Bind("target") String target, @Bind("id") String chunkId, @Bind("writer") String writer);

    /** {@link #reusable} for several chunks in one query: those of {@code chunkIds} a writer may name, in no order. */
    @SqlQuery("""
            SELECT c.chunk_id, c.pack_key, c.pack_offset, c.stored_length, c.raw_length, c.stored_sha256
            FROM repo_chunks c JOIN repo_packs p ON p.target = c.target AND p.pack_key = c.pack_key
            WHERE c.target = :target AND c.chunk_id IN (<ids>)
              AND (p.status = 'LIVE' OR (p.status = 'PENDING' AND p.writer = :writer))
            """)
    List<ChunkRow> reusableAmong(@Bind("target") String target, @org.jdbi.v3.sqlobject.customizer.BindList("ids") List<String> chunkIds,
            @Bind("writer") String writer);

    @SqlQuery("""
            SELECT chunk_id, pack_key, pack_offset, stored_length, raw_length, stored_sha256 FROM repo_chunks
            WHERE target = :target AND chunk_id = :id
            """)
    Optional<ChunkRow> chunk(@Bind("target") String target, @Bind("id") String chunkId);

    @SqlUpdate("""
            INSERT INTO repo_packs (target, pack_key, stored_bytes, chunk_count, status, writer, created_at)
            VALUES (:target, :key, 0, 0, 'PENDING', :writer, :now)
            """)
    void insertPending(@Bind("target") String target, @Bind("key") String packKey, @Bind("writer") String writer,
            @Bind("now") Instant now);

    /** A pack found in storage that the catalog does not know (a catalog rebuild): CONDEMNED now; 0 when it is known meanwhile. */
    @SqlUpdate("""
            INSERT INTO repo_packs (target, pack_key, stored_bytes, chunk_count, status, writer, created_at, condemned_at)
            SELECT :target, :key, 0, 0, 'CONDEMNED', 'catalog-rebuild', :now, :now FROM (SELECT 1 AS one) x
            WHERE NOT EXISTS (SELECT 1 FROM repo_packs p WHERE p.target = :target AND p.pack_key = :key)
            """)
    int insertFound(@Bind("target") String target, @Bind("key") String packKey, @Bind("now") Instant now);

    @SqlUpdate("UPDATE repo_packs SET stored_bytes = :bytes, chunk_count = :chunks WHERE target = :target AND pack_key = :key")
    void sealed(@Bind("target") String target, @Bind("key") String packKey, @Bind("bytes") long bytes, @Bind("chunks") int chunks);

    @SqlBatch("""
            INSERT INTO repo_chunks (target, chunk_id, pack_key, pack_offset, stored_length, raw_length, stored_sha256)
            VALUES (:target, :chunkId, :packKey, :packOffset, :storedLength, :rawLength, :storedSha256)
            """)
    void insertChunksBatch(@Bind("target") String target, @BindMethods List<ChunkRow> chunks);

    @SqlUpdate("""
            INSERT INTO repo_chunks (target, chunk_id, pack_key, pack_offset, stored_length, raw_length, stored_sha256)
            VALUES (:target, :chunkId, :packKey, :packOffset, :storedLength, :rawLength, :storedSha256)
            """)
    void insertChunk(@Bind("target") String target, @BindMethods ChunkRow chunk);

    /**
     * Indexes chunks; one already indexed (in another pack: two snapshots of different sources
     * stored the same new content at once) keeps its row, and this pack's copy is only named by
     * the chunk list that wrote it.
     */
    default void insertChunks(String target, List<ChunkRow> chunks) {
        if (chunks.isEmpty()) {
            return;
        }
        try {
            insertChunksBatch(target, chunks);
        } catch (RuntimeException duplicate) {
            if (!Constraints.isUniqueViolation(duplicate)) {
                throw duplicate;
            }
            for (ChunkRow chunk : chunks) {
                try {
                    insertChunk(target, chunk);
                } catch (RuntimeException e) {
                    if (!Constraints.isUniqueViolation(e)) {
                        throw e;
                    }
                }
            }
        }
    }

    @SqlUpdate("""
            INSERT INTO snapshot_packs (snapshot_id, target, pack_key)
            SELECT :snapshot, :target, :key FROM (VALUES (0)) AS one (x)
            WHERE NOT EXISTS (SELECT 1 FROM snapshot_packs WHERE snapshot_id = :snapshot AND target = :target AND pack_key = :key)
            """)
    void reference(@Bind("snapshot") String snapshotId, @Bind("target") String target, @Bind("key") String packKey);

    /** The writer's PENDING packs become LIVE (its snapshot completed). */
    @SqlUpdate("UPDATE repo_packs SET status = 'LIVE' WHERE writer = :writer AND status = 'PENDING'")
    int publish(@Bind("writer") String writer);

    @SqlQuery("SELECT pack_key, stored_bytes, chunk_count, status, writer FROM repo_packs WHERE writer = :writer AND status = 'PENDING'")
    List<PackRow> pendingOf(@Bind("writer") String writer);

    @SqlQuery("SELECT target FROM repo_packs WHERE pack_key = :key")
    List<String> targetsOf(@Bind("key") String packKey);

    /** Forgets a pack and its chunks (after its object was deleted). */
    default void forget(String target, String packKey) {
        deleteChunksOf(target, packKey);
        deletePack(target, packKey);
    }

    @SqlUpdate("DELETE FROM repo_chunks WHERE target = :target AND pack_key = :key")
    void deleteChunksOf(@Bind("target") String target, @Bind("key") String packKey);

    @SqlUpdate("DELETE FROM repo_packs WHERE target = :target AND pack_key = :key")
    void deletePack(@Bind("target") String target, @Bind("key") String packKey);

    @SqlUpdate("DELETE FROM snapshot_packs WHERE snapshot_id = :snapshot")
    void dropReferences(@Bind("snapshot") String snapshotId);

    @SqlUpdate("DELETE FROM snapshot_files WHERE snapshot_id = :snapshot")
    void dropFiles(@Bind("snapshot") String snapshotId);

    /** References of snapshots that no longer exist (deleted, pruned, failed): dropped before a prune marks. */
    @SqlUpdate("""
            DELETE FROM snapshot_packs WHERE snapshot_id IN (
                SELECT id FROM snapshots WHERE status NOT IN ('RUNNING', 'COMPLETED'))
            """)
    int dropStaleReferenceRows();

    @SqlUpdate("""
            DELETE FROM snapshot_files WHERE snapshot_id IN (
                SELECT id FROM snapshots WHERE status NOT IN ('RUNNING', 'COMPLETED'))
            """)
    int dropStaleFiles();

    default int dropStaleReferences() {
        dropStaleFiles();
        dropStaleChunkSets();
        dropStaleSnapshotChunks();
        dropStaleListShas();
        return dropStaleReferenceRows();
    }

    /**
     * Mark: packs of a target that no RUNNING or COMPLETED snapshot references become CONDEMNED now:
     * LIVE ones, and PENDING ones whose writer is no longer running (it failed, and could not
     * delete them then: the catalog or the store was down).
     */
    @SqlUpdate("""
            UPDATE repo_packs SET status = 'CONDEMNED', condemned_at = :now
            WHERE target = :target
              AND (status = 'LIVE' OR (status = 'PENDING' AND NOT EXISTS (
                   SELECT 1 FROM snapshots w WHERE w.id = repo_packs.writer AND w.status = 'RUNNING')))
              AND NOT EXISTS (SELECT 1 FROM snapshot_packs r JOIN snapshots s ON s.id = r.snapshot_id
                              WHERE r.target = repo_packs.target AND r.pack_key = repo_packs.pack_key
                                AND s.status IN ('RUNNING', 'COMPLETED'))
            """)
    int condemn(@Bind("target") String target, @Bind("now") Instant now);

    /** Condemned packs a snapshot referenced again meanwhile (it found a chunk just before the mark) are LIVE again. */
    @SqlUpdate("""
            UPDATE repo_packs SET status = 'LIVE', condemned_at = NULL
            WHERE target = :target AND status = 'CONDEMNED'
              AND EXISTS (SELECT 1 FROM snapshot_packs r JOIN snapshots s ON s.id = r.snapshot_id
                          WHERE r.target = repo_packs.target AND r.pack_key = repo_packs.pack_key
                            AND s.status IN ('RUNNING', 'COMPLETED'))
            """)
    int revive(@Bind("target") String target);

    /**
     * Sweep: packs condemned before {@code before} (the grace period ago), unless a restore that
     * began before the pack was condemned still runs (it may read a chunk list naming the pack from
     * before a repack moved its chunks). Restores begun before {@code restoresSince} are not waited
     * for (a row left unfinished by a node that died must not keep packs forever).
     */
    @SqlQuery("""
            SELECT pack_key, stored_bytes, chunk_count, status, writer FROM repo_packs
            WHERE target = :target AND status = 'CONDEMNED' AND condemned_at < :before
              AND NOT EXISTS (SELECT 1 FROM restores x WHERE x.phase NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
                              AND x.created_at < repo_packs.condemned_at AND x.created_at > :restoresSince)
            ORDER BY pack_key
            """)
    List<PackRow> sweepable(@Bind("target") String target, @Bind("before") Instant before,
            @Bind("restoresSince") Instant restoresSince);

    /** Stored bytes of the packs that only the given snapshots reference (what pruning them frees). */
    @SqlQuery("""
            SELECT COALESCE(SUM(p.stored_bytes), 0) FROM repo_packs p
            WHERE p.status IN ('LIVE', 'CONDEMNED')
              AND EXISTS (SELECT 1 FROM snapshot_packs r WHERE r.target = p.target AND r.pack_key = p.pack_key
                          AND r.snapshot_id IN (<ids>))
              AND NOT EXISTS (SELECT 1 FROM snapshot_packs r JOIN snapshots s ON s.id = r.snapshot_id
                              WHERE r.target = p.target AND r.pack_key = p.pack_key
                                AND s.status IN ('RUNNING', 'COMPLETED') AND r.snapshot_id NOT IN (<ids>))
            """)
    long freedBy(@org.jdbi.v3.sqlobject.customizer.BindList("ids") List<String> snapshotIds);

    @SqlQuery("SELECT pack_key, stored_bytes, chunk_count, status, writer FROM repo_packs WHERE target = :target ORDER BY pack_key")
    List<PackRow> packs(@Bind("target") String target);

    @SqlQuery("SELECT pack_key, stored_bytes, chunk_count, status, writer FROM repo_packs WHERE target = :target AND pack_key = :key")
    Optional<PackRow> packs(@Bind("target") String target, @Bind("key") String packKey);

    @SqlQuery("""
            SELECT r.snapshot_id FROM snapshot_packs r JOIN snapshots s ON s.id = r.snapshot_id
            WHERE r.target = :target AND r.pack_key = :key AND s.status = 'COMPLETED' ORDER BY r.snapshot_id
            """)
    List<String> referencingCompleted(@Bind("target") String target, @Bind("key") String packKey);

    @SqlQuery("""
            SELECT chunk_id, pack_key, pack_offset, stored_length, raw_length, stored_sha256 FROM repo_chunks
            WHERE target = :target AND pack_key = :key ORDER BY pack_offset
            """)
    List<ChunkRow> chunksOf(@Bind("target") String target, @Bind("key") String packKey);

    @SqlBatch("""
            INSERT INTO snapshot_files (snapshot_id, dir_hash, path, size, mtime_ns, ctime_ns, inode, seq, chunk_id, raw_length)
            VALUES (:snapshot, :dirHash, :path, :size, :mtimeNs, :ctimeNs, :inode, :seq, :chunkId, :rawLength)
            """)
    void insertFiles(@Bind("snapshot") String snapshotId, @Bind("dirHash") List<String> dirHashes,
            @BindMethods List<FileChunk> chunks);

    /** How many file chunks a snapshot recorded (its {@code snapshot_files} rows). */
    @SqlQuery("SELECT COUNT(*) FROM snapshot_files WHERE snapshot_id = :snapshot")
    long fileChunkCount(@Bind("snapshot") String snapshotId);

    /** A parent's file chunks, each with its current location and pack state (the WHERE clause follows). */
    String PARENT_FILES = """
            SELECT f.path, f.size, f.mtime_ns, f.ctime_ns, f.inode, f.seq, f.chunk_id, f.raw_length,
                   c.pack_key, c.pack_offset, c.stored_length, c.stored_sha256, p.status AS pack_status
            FROM snapshot_files f
            LEFT JOIN repo_chunks c ON c.target = :target AND c.chunk_id = f.chunk_id
            LEFT JOIN repo_packs p ON p.target = c.target AND p.pack_key = c.pack_key
            """;

    /** A parent snapshot's files, all of them, as {@link #parentFilesIn} reads one directory's: for a parent small enough to hold. */
    @SqlQuery(PARENT_FILES + "WHERE f.snapshot_id = :snapshot ORDER BY f.path, f.seq")
    List<ParentChunk> parentFiles(@Bind("target") String target, @Bind("snapshot") String snapshotId);

    /** A parent snapshot's files in one directory, each chunk with its current location and pack state: one query a directory. */
    @SqlQuery(PARENT_FILES + "WHERE f.snapshot_id = :snapshot AND f.dir_hash = :dirHash ORDER BY f.path, f.seq")
    List<ParentChunk> parentFilesIn(@Bind("target") String target, @Bind("snapshot") String snapshotId,
            @Bind("dirHash") String dirHash);

    /** The newest COMPLETED chunked snapshot of a source on a target: the parent whose files a new one may reuse. */
    @SqlQuery("""
            SELECT id FROM snapshots
            WHERE source_name = :source AND storage_target = :target AND status = 'COMPLETED' AND storage_format = 'chunked-1'
            ORDER BY id DESC LIMIT 1
            """)
    Optional<String> parentOf(@Bind("source") String source, @Bind("target") String target);

    @SqlQuery("SELECT key_material FROM repo_keys WHERE key_id = :id")
    Optional<String> key(@Bind("id") String keyId);

    @SqlQuery("SELECT key_id FROM repo_keys ORDER BY created_at, key_id LIMIT 1")
    Optional<String> firstKeyId();

    @SqlUpdate("""
            INSERT INTO repo_keys (key_id, key_material, created_at)
            SELECT :id, :material, :now FROM (VALUES (0)) AS one (x)
            WHERE NOT EXISTS (SELECT 1 FROM repo_keys)
            """)
    int insertFirstKey(@Bind("id") String keyId, @Bind("material") String material, @Bind("now") Instant now);

    @SqlUpdate("""
            INSERT INTO repo_keys (key_id, key_material, created_at)
            SELECT :id, :material, :now FROM (VALUES (0)) AS one (x)
            WHERE NOT EXISTS (SELECT 1 FROM repo_keys WHERE key_id = :id)
            """)
    int insertKey(@Bind("id") String keyId, @Bind("material") String material, @Bind("now") Instant now);
}
