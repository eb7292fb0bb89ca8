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
 * in the chunk list, in stream order. Chunks are looked up in the index a few at a time, with one
 * query, and full packs are committed by {@link PackWriter} while the next fills. Memory: the
 * chunker's buffer, the chunks cut and not yet looked up (about {@link #RESOLVE_BYTES}), the chunks
 * being encoded (a fixed number), and the locations of the chunks of packs not yet indexed.
 */
public final class RepositoryWriter extends OutputStream {
    private final ChunkRepository repository;
    private final String snapshotId;
    private final ChunkIds ids;
    private final Chunker chunker;
    private final MeasuringOutputStream listBytes;
    private final Writer list;
    private final int depth;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /**
     * Chunks cut but not yet looked up in the index, looked up {@link #RESOLVE_CHUNKS} at a time in
     * one query, and between them, in stream order, chunks reused from a parent (already located).
     */
    private final List<Cut> unresolved = new ArrayList<>();
    private long unresolvedBytes;
    private int unresolvedCuts;
    /** The packs this run writes; chunks being encoded (content met again meanwhile is not encoded twice). */
    private final PackWriter packs;
    /** The run's chunks share one OpenPGP session key (wrapped to the recipient once); made at the first chunk stored. */
    private dev.backstop.pipeline.ObjectCodec.ChunkSession session;
    private final Set<String> inFlight = new HashSet<>();
    private final Set<String> referenced = new HashSet<>();
    /** Chunk ids named since the last flush into {@code snapshot_chunks} (what a prune measures packs' use by). */
    private final List<String> named = new ArrayList<>();
    private long chunkCount;
    private long chunkBytes;
    /** Raw bytes named from a parent's chunks without passing through the chunker. */
    private long reusedRaw;
    /** The chunks of the file being written, when a directory source says where files start ({@link #startFile}). */
    private List<String> fileChunks;
    private List<Integer> fileChunkSizes;

    /** A chunk in stream order: reused (location known) or being encoded. */
    private record Pending(String id, int rawLength, ChunkRow reused, Future<ChunkRepository.Encoded> encoded) {}

    /**
     * A chunk cut from the stream, its content copied, waiting for its index lookup; or (data null)
     * a parent's chunk {@code located} already, waiting for the cut chunks before it.
     */
    private record Cut(String id, byte[] data, ChunkRow located) {}

    /**
     * Chunks and bytes looked up together: one catalog query per this many instead of one per chunk
     * (the bytes bound comes first for large chunks; the count matters for small ones, such as the
     * tar headers between the unchanged files of a directory, one chunk each).
     */
    static final int RESOLVE_CHUNKS = 128;
    static final long RESOLVE_BYTES = 8L << 20;
    /** Reused chunks held back behind cut ones at most: bounds the batch's memory whatever the tree. */
    static final int RESOLVE_LOCATED = 4096;

    RepositoryWriter(ChunkRepository repository, String snapshotId, ChunkIds ids, ObjectUpload chunkList, int depth) {
        this.repository = repository;
        this.snapshotId = snapshotId;
        this.ids = ids;
        this.chunker = new Chunker(this::chunk);
        this.listBytes = MeasuringOutputStream.hashing(new dev.backstop.pipeline.OpenPgpEncryptor.Unclosable(chunkList));
        this.list = new BufferedWriter(new OutputStreamWriter(listBytes, StandardCharsets.UTF_8), 1 << 16);
        this.depth = depth;
        this.packs = new PackWriter(repository, snapshotId, this::reference);
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
        return packs.addedBytes();
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
            unresolved.add(new Cut(row.chunkId(), null, row)); // in order behind the cut chunks still to look up
            reusedRaw += row.rawLength();
        }
        if (unresolved.size() >= RESOLVE_LOCATED) {
            resolve();
        }
        return true;
    }

    private void chunk(byte[] data, int length) throws IOException {
        String id = ids.id(data, 0, length);
        if (fileChunks != null) {
            fileChunks.add(id);
            fileChunkSizes.add(length);
        }
        unresolved.add(new Cut(id, Arrays.copyOf(data, length), null));
        unresolvedBytes += length;
        unresolvedCuts++;
        if (unresolvedCuts >= RESOLVE_CHUNKS || unresolvedBytes >= RESOLVE_BYTES || unresolved.size() >= RESOLVE_LOCATED) {
            resolve();
        }
    }

    /**
     * Looks the cut chunks up in the index with one query, then, in stream order, names each one the
     * repository holds and sends the others to the encoders (content met twice is encoded once).
     */
    private void resolve() throws IOException {
        if (unresolved.isEmpty()) {
            return;
        }
        // Where every chunk of the batch is, found before any is enqueued: enqueueing appends and seals
        // packs, and a sealed pack's chunks leave the writer's memory for the index this lookup has passed.
        Map<String, ChunkRow> indexed = new HashMap<>();
        List<String> lookup = new ArrayList<>();
        for (Cut cut : unresolved) {
            if (cut.located() != null) {
                continue;
            }
            ChunkRow written = packs.written(cut.id());
            if (written != null) {
                indexed.put(cut.id(), written);
            } else if (!inFlight.contains(cut.id()) && !lookup.contains(cut.id())) {
                lookup.add(cut.id());
            }
        }
        if (!lookup.isEmpty()) {
            for (ChunkRow row : repository.dao().reusableAmong(repository.targetName(), lookup, snapshotId)) {
                indexed.putIfAbsent(row.chunkId(), row);
            }
        }
        List<Cut> cuts = new ArrayList<>(unresolved);
        unresolved.clear();
        unresolvedBytes = 0;
        unresolvedCuts = 0;
        for (Cut cut : cuts) {
            String id = cut.id();
            if (cut.located() != null) {
                enqueue(new Pending(id, cut.located().rawLength(), cut.located(), null));
                continue;
            }
            ChunkRow known = packs.written(id);
            if (known == null) {
                known = indexed.get(id);
            }
            if (known == null && !inFlight.contains(id)) {
                inFlight.add(id);
                if (session == null) {
                    session = repository.chunkSession();
                }
                enqueue(new Pending(id, cut.data().length, null, repository.encode(session, cut.data())));
                continue;
            }
            if (known != null) {
                reference(known.packKey());
            }
            enqueue(new Pending(id, cut.data().length, known, null));
        }
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
            ChunkRepository.Encoded stored;
            try {
                stored = next.encoded().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while encoding a chunk");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
            row = packs.append(next.id(), stored, next.rawLength());
            inFlight.remove(next.id());
        } else if (row == null) {
            // The same content was in flight when this one was cut: it has been appended since.
            row = packs.written(next.id());
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
        resolve();
        while (!pending.isEmpty()) {
            drainOne();
        }
        packs.finish();
        flushNamed();
        repository.dao().chunkSetComplete(snapshotId, repository.targetName());
        list.flush();
        list.close();
        return new Result(rawBytes(), chunkCount, referenced.size(), chunkBytes, packs.addedBytes(), packs.packsWritten(),
                listBytes.count(), listBytes.sha256());
    }

    /** After a failure: stops what is encoding and aborts the open pack (the run's packs are removed by its owner). */
    @Override
    public void close() {
        unresolved.clear();
        for (Pending p : pending) {
            if (p.encoded() != null) {
                p.encoded().cancel(false);
            }
        }
        pending.clear();
        packs.close();
    }
}
