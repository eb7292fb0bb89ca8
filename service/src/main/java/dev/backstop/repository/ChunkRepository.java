package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deduplicated repository of one storage target: chunks stored once across all snapshots of
 * every source writing there, in packs under {@code repository/packs/}, indexed in the catalog.
 * A snapshot is a chunk list beside its manifest. See the README's "Repository layout".
 */
public final class ChunkRepository {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkRepository.class);
    public static final String PACKS = "repository/packs/";

    private final StorageTarget target;
    private final RepositoryDao dao;
    private final ObjectCodec codec;
    private final ChunkKeys keys;
    private final ExecutorService encoders;
    private final int encoderThreads;
    private final Clock clock;
    private final long packSize;
    private final SecureRandom random = new SecureRandom();

    public ChunkRepository(StorageTarget target, RepositoryDao dao, ObjectCodec codec, ChunkKeys keys, ExecutorService encoders,
            int encoderThreads, Clock clock, long packSize) {
        this.target = target;
        this.dao = dao;
        this.codec = codec;
        this.keys = keys;
        this.encoders = encoders;
        this.encoderThreads = encoderThreads;
        this.clock = clock;
        this.packSize = packSize;
    }

    public StorageTarget target() {
        return target;
    }

    public String targetName() {
        return target.name();
    }

    RepositoryDao dao() {
        return dao;
    }

    long packSize() {
        return packSize;
    }

    Instant now() {
        return clock.instant();
    }

    String newPackKey() {
        byte[] id = new byte[16];
        random.nextBytes(id);
        String hex = HexFormat.of().formatHex(id);
        return PACKS + hex.substring(0, 2) + "/" + hex + ".pack";
    }

    Future<byte[]> encode(byte[] chunk) {
        return encoders.submit(() -> codec.encodeChunk(chunk, chunk.length));
    }

    /** How this host names chunks: keyed when encrypting (the key is created once per catalog). */
    public ChunkIds idsForWriting() throws IOException {
        return codec.encrypting() ? keys.forWriting(target) : ChunkIds.plain();
    }

    /** Starts writing snapshot {@code snapshotId}; its chunk list goes into {@code chunkList}. */
    public RepositoryWriter writer(String snapshotId, ObjectUpload chunkList) throws IOException {
        return new RepositoryWriter(this, snapshotId, idsForWriting(), chunkList, encoderThreads * 2 + 2);
    }

    /** The snapshot completed: the packs it wrote may be reused by every later snapshot. */
    public void publish(String snapshotId) {
        dao.publish(snapshotId);
    }

    /**
     * A run failed or was cancelled: the packs it wrote (nobody else may reuse a PENDING pack) are
     * deleted, and its references dropped.
     */
    public void discard(String snapshotId) {
        for (RepositoryDao.PackRow pack : dao.pendingOf(snapshotId)) {
            try {
                target.unretried().delete(pack.packKey());
                dao.forget(target.name(), pack.packKey());
            } catch (IOException | RuntimeException e) {
                LOG.warn("Cannot delete pack {} of failed snapshot {} from {} now ({}); a prune removes it later", pack.packKey(),
                        snapshotId, target.name(), e.getMessage());
            }
        }
        dao.dropReferences(snapshotId);
        dao.dropFiles(snapshotId);
    }

    /**
     * The snapshot's bytes as the source wrote them, read from its chunk list: chunks are fetched
     * ahead in parallel, decoded and each verified against its id before a byte of it is returned.
     */
    public InputStream reader(InputStream chunkList, String scheme, String keyId, boolean encrypted, ExecutorService readers,
            int readAhead, LongConsumer storedRead, String noKey) throws IOException {
        ChunkIds ids = ChunkIds.KEYED.equals(scheme) ? keys.forReading(target, keyId, codec) : ChunkIds.plain();
        return new ChunkReader(target, codec, ids, encrypted, chunkList, readers, readAhead, storedRead, noKey);
    }
}
