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
    /** Where full packs are committed (an fsync or an upload's completion) while the writer fills the next one. */
    private final ExecutorService sealers;
    private final int encoderThreads;
    private final Clock clock;
    private final long packSize;
    private final SecureRandom random = new SecureRandom();

    public ChunkRepository(StorageTarget target, RepositoryDao dao, ObjectCodec codec, ChunkKeys keys, ExecutorService encoders,
            ExecutorService sealers, int encoderThreads, Clock clock, long packSize) {
        this.sealers = sealers;
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

    ExecutorService sealers() {
        return sealers;
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

    /** A chunk as stored, and the SHA-256 of those bytes (checks without the key compare it). */
    record Encoded(byte[] stored, String storedSha256) {}

    /** A session for one run's chunks (when encrypting, one session key wrapped to the recipient). */
    dev.backstop.pipeline.ObjectCodec.ChunkSession chunkSession() throws IOException {
        return codec.chunkSession();
    }

    /** Encodes a chunk on the encoder threads, hashing what it stores there too. */
    Future<Encoded> encode(dev.backstop.pipeline.ObjectCodec.ChunkSession session, byte[] chunk) {
        return encoders.submit(() -> {
            byte[] stored = codec.encodeChunk(session, chunk, chunk.length);
            return new Encoded(stored, ChunkIds.plain().id(stored, 0, stored.length));
        });
    }

    /** How this host names chunks: keyed when encrypting (the key is created once per catalog). */
    public ChunkIds idsForWriting() throws IOException {
        return codec.encrypting() ? keys.forWriting(target) : ChunkIds.plain();
    }

    /** The catalog's chunk key's ids, when it has one (a check reads with it and changes nothing). */
    java.util.Optional<ChunkIds> currentKeyedIds() {
        return keys.current();
    }

    /** Starts writing snapshot {@code snapshotId}; its chunk list goes into {@code chunkList}. */
    public RepositoryWriter writer(String snapshotId, ObjectUpload chunkList) throws IOException {
        return new RepositoryWriter(this, snapshotId, idsForWriting(), chunkList, encoderThreads * 2 + 2);
    }

    /** File boundaries and reuse for a snapshot of {@code source}: the parent is its newest chunked snapshot on this target. */
    public DirectoryFiles files(RepositoryWriter writer, DirectoryFiles.Flush flush, String snapshotId, String source) {
        return new DirectoryFiles(writer, flush, dao, snapshotId, dao.parentOf(source, target.name()).orElse(null));
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
        dao.dropSnapshotChunks(snapshotId);
    }

    /**
     * Indexes a snapshot found in storage (a catalog rebuild): every pack its chunk list names
     * becomes LIVE here, with its chunks and the snapshot's references, unless already known. A
     * pack's size is the furthest chunk end any list names.
     */
    public void index(String snapshotId, java.io.InputStream chunkList) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.Map<String, Long> extents = new java.util.LinkedHashMap<>();
        java.util.List<RepositoryDao.ChunkRow> rows = new java.util.ArrayList<>();
        java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(chunkList,
                java.nio.charset.StandardCharsets.UTF_8));
        java.util.List<String> named = new java.util.ArrayList<>();
        dao.dropSnapshotChunks(snapshotId, target.name());
        for (String line; (line = lines.readLine()) != null; ) {
            com.fasterxml.jackson.databind.JsonNode chunk = json.readTree(line);
            RepositoryDao.ChunkRow row = new RepositoryDao.ChunkRow(chunk.get("id").asText(), chunk.get("pack").asText(),
                    chunk.get("offset").asLong(), chunk.get("length").asInt(), chunk.get("size").asInt(),
                    chunk.path("stored").asText(""));
            named.add(row.chunkId());
            if (named.size() >= 1000) {
                dao.insertSnapshotChunks(snapshotId, target.name(), named);
                named.clear();
            }
            extents.merge(row.packKey(), row.packOffset() + row.storedLength(), Math::max);
            if (dao.chunk(target.name(), row.chunkId()).isEmpty()) {
                rows.add(row);
                if (rows.size() >= 500) {
                    insertNew(rows);
                }
            }
        }
        insertNew(rows);
        if (!named.isEmpty()) {
            dao.insertSnapshotChunks(snapshotId, target.name(), named);
        }
        dao.chunkSetComplete(snapshotId, target.name());
        for (java.util.Map.Entry<String, Long> pack : extents.entrySet()) {
            java.util.Optional<RepositoryDao.PackRow> known = dao.packs(target.name(), pack.getKey());
            if (known.isEmpty()) {
                dao.insertPending(target.name(), pack.getKey(), snapshotId, clock.instant());
                dao.sealed(target.name(), pack.getKey(), pack.getValue(), 0);
            } else if (known.get().storedBytes() < pack.getValue()) {
                dao.sealed(target.name(), pack.getKey(), pack.getValue(), known.get().chunkCount());
            }
            dao.reference(snapshotId, target.name(), pack.getKey());
        }
        dao.publish(snapshotId);
    }

    private void insertNew(java.util.List<RepositoryDao.ChunkRow> rows) {
        // the same chunk twice in one list: once in the index
        java.util.Map<String, RepositoryDao.ChunkRow> distinct = new java.util.LinkedHashMap<>();
        rows.forEach(r -> distinct.putIfAbsent(r.chunkId(), r));
        java.util.List<RepositoryDao.ChunkRow> fresh = distinct.values().stream()
                .filter(r -> dao.chunk(target.name(), r.chunkId()).isEmpty()).toList();
        if (!fresh.isEmpty()) {
            dao.insertChunks(target.name(), fresh);
        }
        rows.clear();
    }

    /**
     * After a catalog rebuild has indexed every snapshot: packs in storage that the catalog still
     * does not know (what the lost catalog had condemned, or pending, when it was lost) are recorded
     * as CONDEMNED now, so a prune deletes them after the grace period unless a snapshot references
     * them by then. Their size is not known (0 in the index). Returns how many were recorded.
     */
    public int adoptUnknownPacks() throws IOException {
        java.util.Set<String> known = new java.util.HashSet<>();
        dao.packs(target.name()).forEach(p -> known.add(p.packKey())); // one query, not one per pack
        int adopted = 0;
        for (String key : target.list(PACKS)) {
            if (key.endsWith(".pack") && !known.contains(key)) {
                adopted += dao.insertFound(target.name(), key, clock.instant()); // 0 when recorded meanwhile
            }
        }
        return adopted;
    }

    /** What copying a snapshot's packs did. */
    public record Copied(long listBytes, int packs, int packsCopied, long bytesCopied) {}

    /**
     * Copies into this repository the packs of a chunked snapshot that it lacks, from
     * {@code source}, and indexes them here (LIVE, referenced by the snapshot): the replica then
     * holds every chunk the snapshot's list names. The list is read and checked against
     * {@code listSha256}; the caller copies the list and the manifest afterwards.
     */
    public Copied copyPacks(String snapshotId, ChunkRepository source, String listKey, String listSha256) throws IOException {
        java.security.MessageDigest sha;
        try {
            sha = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        java.util.LinkedHashSet<String> packs = new java.util.LinkedHashSet<>();
        long listBytes = 0;
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        try (java.io.InputStream in = new java.security.DigestInputStream(source.target.open(listKey), sha);
                java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(in,
                        java.nio.charset.StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                listBytes += line.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1;
                packs.add(json.readTree(line).get("pack").asText());
            }
        }
        String actual = HexFormat.of().formatHex(sha.digest());
        if (!actual.equals(listSha256)) {
            throw new IOException("the chunk list read from " + source.targetName() + " does not match the catalog (SHA-256 " + actual
                    + "); nothing copied");
        }
        int copied = 0;
        long bytes = 0;
        for (String pack : packs) {
            long written = copyPack(snapshotId, source, pack);
            if (written >= 0) {
                copied++;
                bytes += written;
            }
            dao.reference(snapshotId, target.name(), pack);
        }
        dao.publish(snapshotId);
        copyKeyObject(source);
        return new Copied(listBytes, packs.size(), copied, bytes);
    }

    /**
     * One pack of a snapshot into this repository, unless it is here and indexed: recorded (PENDING,
     * written by the snapshot) before it is written, so a copy that fails half-way leaves a row that a
     * prune condemns and sweeps, never an object nobody knows; indexed with the source's chunks once
     * here. An earlier attempt's pack (PENDING, this writer) that is already stored (uploads are
     * atomic: a stored pack is whole) is only indexed. Returns the bytes copied, -1 when nothing was.
     */
    private long copyPack(String snapshotId, ChunkRepository source, String pack) throws IOException {
        java.util.Optional<RepositoryDao.PackRow> known = dao.packs(target.name(), pack);
        boolean retried = known.isPresent() && known.get().status().equals("PENDING") && snapshotId.equals(known.get().writer());
        boolean indexed = known.isPresent() && !retried;
        boolean stored = target.exists(pack);
        if (indexed && stored) {
            return -1;
        }
        long size = source.dao.packs(source.targetName(), pack).map(RepositoryDao.PackRow::storedBytes).orElse(-1L);
        if (known.isEmpty()) {
            dao.insertPending(target.name(), pack, snapshotId, clock.instant());
        }
        long written = -1;
        if (!stored) {
            written = size;
            if (!target.copyWithin(source.target, pack, size)) {
                try (java.io.InputStream in = source.target.open(pack); dev.backstop.storage.ObjectUpload upload = target.upload(pack)) {
                    written = in.transferTo(upload);
                    if (size >= 0 && written != size) {
                        throw new IOException("pack " + pack + " read from " + source.targetName() + " is " + written
                                + " bytes, the index says " + size + "; not copied");
                    }
                    upload.commit();
                }
            }
        }
        if (!indexed) {
            java.util.List<RepositoryDao.ChunkRow> chunks = source.dao.chunksOf(source.targetName(), pack);
            dao.insertChunks(target.name(), chunks);
            dao.sealed(target.name(), pack, written >= 0 ? written : size, chunks.size());
        }
        return written;
    }

    /** The encrypted chunk key travels with the packs, so a restore host can read the replica alone. */
    private void copyKeyObject(ChunkRepository source) throws IOException {
        for (String key : source.target.list(ChunkKeys.KEYS)) {
            if (!target.exists(key)) {
                try (java.io.InputStream in = source.target.open(key)) {
                    target.put(key, in.readAllBytes(), "application/octet-stream");
                }
            }
        }
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
