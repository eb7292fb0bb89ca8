package dev.backstop.repository;

import dev.backstop.db.RepositoryDao.ChunkRow;
import dev.backstop.storage.ObjectUpload;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * The packs one snapshot writes: encoded chunks are appended to the open pack; a full pack is
 * handed to the sealers, which commit it (the store syncs it and reads it back) and put its chunks
 * in the index while the next pack fills, so a snapshot does not stop for every fsync or upload
 * completion. Every pack is recorded PENDING (by this snapshot) before its first byte is written.
 * Memory: the locations of the chunks of the open pack and of the packs being sealed.
 */
final class PackWriter implements AutoCloseable {
    /** Packs committed at once: the writer fills the next while the store syncs or completes these. */
    static final int SEALING_PACKS = 2;

    private final ChunkRepository repository;
    private final String snapshotId;
    private final Consumer<String> opened;
    /** Chunks of the open pack, not yet in the index. */
    private final Map<String, ChunkRow> openPack = new HashMap<>();
    private final List<ChunkRow> openRows = new ArrayList<>();
    /** Full packs being committed on the sealers, oldest first, and their chunks (found here until indexed). */
    private final ArrayDeque<Sealing> sealing = new ArrayDeque<>();
    private final Map<String, ChunkRow> sealingRows = new HashMap<>();
    private ObjectUpload pack;
    private String packKey;
    private long packOffset;
    private long addedBytes;
    private long packsWritten;

    /** A full pack being committed and indexed. */
    private record Sealing(List<ChunkRow> rows, Future<?> done) {}

    /** {@code opened} is told the key of every pack started (before it is written). */
    PackWriter(ChunkRepository repository, String snapshotId, Consumer<String> opened) {
        this.repository = repository;
        this.snapshotId = snapshotId;
        this.opened = opened;
    }

    /** Stored bytes appended so far. */
    long addedBytes() {
        return addedBytes;
    }

    long packsWritten() {
        return packsWritten;
    }

    /** Where this run wrote a chunk, if it did and its pack is not indexed yet (open, or being sealed). */
    ChunkRow written(String id) {
        ChunkRow row = openPack.get(id);
        return row != null ? row : sealingRows.get(id);
    }

    /** Appends an encoded chunk to the open pack (starting one when none is open); a full pack is sealed. */
    ChunkRow append(String id, ChunkRepository.Encoded encoded, int rawLength) throws IOException {
        byte[] stored = encoded.stored();
        if (pack == null) {
            packKey = repository.newPackKey();
            repository.dao().insertPending(repository.targetName(), packKey, snapshotId, repository.now());
            opened.accept(packKey);
            pack = repository.target().upload(packKey);
            packOffset = 0;
        }
        pack.write(stored);
        ChunkRow row = new ChunkRow(id, packKey, packOffset, stored.length, rawLength, encoded.storedSha256());
        packOffset += stored.length;
        addedBytes += stored.length;
        openPack.put(id, row);
        openRows.add(row);
        if (packOffset >= repository.packSize()) {
            seal();
        }
        return row;
    }

    /**
     * Hands the open pack to the sealers; at most {@link #SEALING_PACKS} at once. A failed seal
     * fails the snapshot at the next seal or at {@link #finish()}.
     */
    private void seal() throws IOException {
        if (pack == null) {
            return;
        }
        ObjectUpload full = pack;
        String key = packKey;
        long size = packOffset;
        List<ChunkRow> rows = List.copyOf(openRows);
        pack = null;
        openRows.clear();
        sealingRows.putAll(openPack);
        openPack.clear();
        String target = repository.targetName();
        Future<?> done;
        try {
            done = repository.sealers().submit(() -> {
                try (full) {
                    full.commit();
                }
                repository.dao().insertChunks(target, rows);
                repository.dao().sealed(target, key, size, rows.size());
                return null;
            });
        } catch (RuntimeException e) { // the service is stopping: the pack is aborted, the run fails
            full.close();
            throw new IOException("cannot commit pack " + key + ": " + e.getMessage(), e);
        }
        sealing.add(new Sealing(rows, done));
        packsWritten++;
        while (sealing.size() > SEALING_PACKS) {
            awaitOldest();
        }
    }

    /** Waits for the oldest pack being sealed; its chunks are found in the index from now on. */
    private void awaitOldest() throws IOException {
        Sealing oldest = sealing.peek();
        try {
            oldest.done().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while a pack was committed");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        sealing.poll();
        for (ChunkRow row : oldest.rows()) {
            sealingRows.remove(row.chunkId(), row);
        }
    }

    /** Seals the open pack and waits until every pack is committed and indexed. */
    void finish() throws IOException {
        seal();
        while (!sealing.isEmpty()) {
            awaitOldest();
        }
    }

    /**
     * After a failure: aborts the open pack and waits for the packs being committed (at most
     * {@link #SEALING_PACKS}, each bounded by the store's own timeouts), so that none is renamed or
     * completed into place after the owner removed this run's packs.
     */
    @Override
    public void close() {
        if (pack != null) {
            pack.close();
            pack = null;
        }
        boolean interrupted = false;
        for (Sealing s : sealing) {
            while (true) {
                try {
                    s.done().get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException | CancellationException e) {
                    break;
                }
            }
        }
        sealing.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
