package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import dev.backstop.db.RepositoryDao.ChunkRow;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.pipeline.Chunker;
import dev.backstop.pipeline.MeasuringOutputStream;
import dev.backstop.storage.ObjectUpload;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Writes one snapshot into a repository: what the source writes is cut into chunks
 * ({@link Chunker}); a chunk the repository already holds is only named, a new one is encoded (zstd,
 * OpenPGP) on the encoder threads and appended to the snapshot's open pack; every chunk gets a line
 * in the chunk list, in stream order. Memory: the chunker's buffer, the chunks being encoded (a
 * fixed number), and the open pack's chunk locations.
 */
public final class RepositoryWriter extends OutputStream {
    private final ChunkRepository repository;
    private final String snapshotId;
    private final ChunkIds ids;
    /** SHA-256 of each chunk as stored (encrypted bytes: it tells nothing of the content), for checks without the key. */
    private final ChunkIds storedSha = ChunkIds.plain();
    private final Chunker chunker;
    private final MeasuringOutputStream listBytes;
    private final Writer list;
    private final int depth;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /** Chunks written into packs by this run, not yet in the catalog (the open pack's), and chunks in flight. */
    private final Map<String, ChunkRow> openPack = new HashMap<>();
    private final Set<String> inFlight = new HashSet<>();
    private final Set<String> referenced = new HashSet<>();
    private final List<ChunkRow> openRows = new ArrayList<>();
    /** Chunk ids named since the last flush into {@code snapshot_chunks} (what a prune measures packs' use by). */
    private final List<String> named = new ArrayList<>();
    private ObjectUpload pack;
    private String packKey;
    private long packOffset;
    private long chunkCount;
    private long chunkBytes;
    private long addedBytes;
    private long packsWritten;
    /** Raw bytes named from a parent's chunks without passing through the chunker. */
    private long reusedRaw;
    /** The chunks of the file being written, when a directory source says where files start ({@link #startFile}). */
    private List<String> fileChunks;
    private List<Integer> fileChunkSizes;

    /** A chunk in stream order: reused (location known) or being encoded. */
    private record Pending(String id, int rawLength, ChunkRow reused, Future<byte[]> encoded) {}

    RepositoryWriter(ChunkRepository repository, String snapshotId, ChunkIds ids, ObjectUpload chunkList, int depth) {
        this.repository = repository;
        this.snapshotId = snapshotId;
        this.ids = ids;
        this.chunker = new Chunker(this::chunk);
        this.listBytes = MeasuringOutputStream.hashing(new dev.backstop.pipeline.OpenPgpEncryptor.Unclosable(chunkList));
        this.list = new BufferedWriter(new OutputStreamWriter(listBytes, StandardCharsets.UTF_8), 1 << 16);
        this.depth = depth;
    }

    @Override
    public void write(int b) throws IOException {
        chunker.write(b);
    }

    @Override
    public void write(byte[] data, int offset, int length) throws IOException {
        chunker.write(data, offset, length);
    }

    /** Bytes written so far. */
    public long rawBytes() {
        return chunker.total() + reusedRaw;
    }

    /** Stored bytes this run added to the repository so far. */
    public long addedBytes() {
        return addedBytes;
    }

    /** The chunk key's id, null when chunks are named by plain SHA-256. */
    public String keyId() {
        return ids.keyId();
    }

    /** Ends the current chunk here (where the source knows a unit ends). */
    public void boundary() throws IOException {
        chunker.boundary();
    }

    /** From here to {@link #endFile()} the bytes are one file's content: its chunks are collected for {@link #endFile()}. */
    public void startFile() throws IOException {
        startFile(1);
    }

    /** As {@link #startFile()}, with cuts only at multiples of {@code alignment} bytes. */
    public void startFile(int alignment) throws IOException {
        chunker.boundary();
        if (alignment > 1) {
            chunker.align(alignment);
        }
        fileChunks = new ArrayList<>();
        fileChunkSizes = new ArrayList<>();
    }

    /** The chunk ids and sizes of the file since {@link #startFile()}, in order. */
    public List<Map.Entry<String, Integer>> endFile() throws IOException {
        chunker.boundary();
        List<Map.Entry<String, Integer>> chunks = new ArrayList<>();
        for (int i = 0; i < fileChunks.size(); i++) {
            chunks.add(Map.entry(fileChunks.get(i), fileChunkSizes.get(i)));
        }
        fileChunks = null;
        fileChunkSizes = null;
        return chunks;
    }

    /** The target this writer stores into. */
    String targetName() {
        return repository.targetName();
    }

    /**
     * Names chunks a parent snapshot stored for an unchanged file, without reading it; their
     * locations were looked up with the parent's files (LIVE packs, one query for a directory).
     */
    public boolean reuseLocated(List<ChunkRow> rows) throws IOException {
        chunker.boundary();
        for (ChunkRow row : rows) {
            reference(row.packKey());
            enqueue(new Pending(row.chunkId(), row.rawLength(), row, null));
            reusedRaw += row.rawLength();
        }
        return true;
    }

    private void chunk(byte[] data, int length) throws IOException {
        String id = ids.id(data, 0, length);
        if (fileChunks != null) {
            fileChunks.add(id);
            fileChunkSizes.add(length);
        }
        ChunkRow known = openPack.get(id);
        if (known == null && !inFlight.contains(id)) {
            known = repository.dao().reusable(repository.targetName(), id, snapshotId).orElse(null);
            if (known == null) {
                byte[] copy = Arrays.copyOf(data, length);
                inFlight.add(id);
                enqueue(new Pending(id, length, null, repository.encode(copy)));
                return;
            }
        }
        if (known != null) {
            reference(known.packKey());
        }
        enqueue(new Pending(id, length, known, null));
    }

    private void enqueue(Pending next) throws IOException {
        pending.add(next);
        while (pending.size() > depth) {
            drainOne();
        }
    }

    private void drainOne() throws IOException {
        Pending next = pending.poll();
        ChunkRow row = next.reused();
        if (next.encoded() != null) {
            byte[] stored;
            try {
                stored = next.encoded().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while encoding a chunk");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
            row = append(next.id(), stored, next.rawLength());
            inFlight.remove(next.id());
        } else if (row == null) {
            // The same content was in flight when this one was cut: it has been appended since.
            row = openPack.get(next.id());
            if (row == null) {
                row = repository.dao().reusable(repository.targetName(), next.id(), snapshotId)
                        .orElseThrow(() -> new IOException("chunk " + next.id() + " vanished from the index while being written"));
            }
            reference(row.packKey());
        }
        chunkCount++;
        chunkBytes += row.storedLength();
        named.add(row.chunkId());
        if (named.size() >= NAMED_BATCH) {
            flushNamed();
        }
        list.write("{\"id\":\"" + row.chunkId() + "\",\"pack\":\"" + row.packKey() + "\",\"offset\":" + row.packOffset()
                + ",\"length\":" + row.storedLength() + ",\"size\":" + row.rawLength() + ",\"stored\":\"" + row.storedSha256()
                + "\"}\n");
    }

    private ChunkRow append(String id, byte[] stored, int rawLength) throws IOException {
        if (pack == null) {
            packKey = repository.newPackKey();
            repository.dao().insertPending(repository.targetName(), packKey, snapshotId, repository.now());
            reference(packKey);
            pack = repository.target().upload(packKey);
            packOffset = 0;
        }
        pack.write(stored);
        ChunkRow row = new ChunkRow(id, packKey, packOffset, stored.length, rawLength, storedSha.id(stored, 0, stored.length));
        packOffset += stored.length;
        addedBytes += stored.length;
        openPack.put(id, row);
        openRows.add(row);
        if (packOffset >= repository.packSize()) {
            sealPack();
        }
        return row;
    }

    /** Commits the open pack (the store reads it back) and puts its chunks in the index. */
    private void sealPack() throws IOException {
        if (pack == null) {
            return;
        }
        pack.commit();
        pack.close();
        pack = null;
        repository.dao().insertChunks(repository.targetName(), openRows);
        repository.dao().sealed(repository.targetName(), packKey, packOffset, openRows.size());
        packsWritten++;
        openRows.clear();
        openPack.clear();
    }

    private static final int NAMED_BATCH = 1000;

    private void flushNamed() {
        if (!named.isEmpty()) {
            repository.dao().insertSnapshotChunks(snapshotId, repository.targetName(), named);
            named.clear();
        }
    }

    private void reference(String key) {
        if (referenced.add(key)) {
            repository.dao().reference(snapshotId, repository.targetName(), key);
        }
    }

    /** What the snapshot stored. */
    public record Result(long rawBytes, long chunkCount, long packCount, long chunkBytes, long addedBytes, long packsWritten,
            long listBytes, String listSha256) {}

    /** Ends the stream: the last chunk, the encodings still running, the open pack, the chunk list (left open for its owner). */
    public Result finish() throws IOException {
        chunker.close();
        while (!pending.isEmpty()) {
            drainOne();
        }
        sealPack();
        flushNamed();
        repository.dao().chunkSetComplete(snapshotId, repository.targetName());
        list.flush();
        list.close();
        return new Result(rawBytes(), chunkCount, referenced.size(), chunkBytes, addedBytes, packsWritten, listBytes.count(),
                listBytes.sha256());
    }

    /** After a failure: stops what is encoding and aborts the open pack (the run's packs are removed by its owner). */
    @Override
    public void close() {
        for (Pending p : pending) {
            if (p.encoded() != null) {
                p.encoded().cancel(false);
            }
        }
        pending.clear();
        if (pack != null) {
            pack.close();
            pack = null;
        }
    }
}
