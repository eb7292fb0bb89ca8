package dev.backstop.repository;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.storage.StorageTarget;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;

/**
 * A chunked snapshot read back as the stream its source wrote: the chunk list is read line by
 * line; neighbouring chunks of one pack are fetched with one ranged read, several reads ahead on
 * the reader threads; each chunk is decoded and its id recomputed before any of its bytes is
 * returned (the stored bytes' SHA-256 is checked only when that fails, to name the cause).
 * Memory: the reads in flight, a fixed number of groups of at most {@link #FETCH_BYTES} stored and
 * {@link #FETCH_RAW_BYTES} decoded each (one chunk, at most 4 MiB decoded, may exceed the latter
 * alone). Bounding the stored bytes alone let a group of well-compressed chunks (a cluster's empty
 * pages, 50-100x) decode to hundreds of MiB: an 800 MB pgbench cluster's restore ran out of a 256 MiB heap.
 * A group decodes into one buffer of {@link #FETCH_RAW_BYTES}, taken back for a later group once
 * read, and is read and decrypted through a workspace taken back once decoded (a group's bytes are
 * not allocated anew: every such buffer is a humongous object to G1, whose concurrent marking the
 * allocations kept busy: 1.6 s of CPU in an 800 MB restore).
 */
final class ChunkReader extends InputStream {
    static final long FETCH_BYTES = 8L << 20;
    static final long FETCH_RAW_BYTES = 8L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final StorageTarget target;
    private final ObjectCodec codec;
    private final ChunkIds ids;
    private final boolean encrypted;
    private final BufferedReader list;
    private final ExecutorService readers;
    private final int readAhead;
    private final LongConsumer storedRead;
    private final String noKey;
    private final ArrayDeque<Future<Decoded>> fetches = new ArrayDeque<>();
    /** Buffers of {@link #FETCH_RAW_BYTES} that groups decode into, given back once read: not one allocation per chunk. */
    private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
    /** What a fetch reads a group's stored bytes into and decrypts through, taken back once it is decoded. */
    private final ArrayDeque<Workspace> workspaces = new ArrayDeque<>();
    private Entry carried;
    private boolean listDone;
    private long line;
    private long stored;
    /** The group being read: its decoded bytes are {@code current[0, end)}. */
    private byte[] current;
    private int end;
    /** The first failure: every later read fails with it (a stream with a hole must not go on). */
    private IOException failure;
    private int position;

    record Entry(long line, String id, String pack, long offset, int length, int size, String stored) {}

    /** A group's chunks decoded, one after another, into {@code buffer[0, length)}. */
    private record Decoded(byte[] buffer, int length) {}

    /** One fetch's stored bytes ({@link #FETCH_BYTES}) and decryption scratch, grown as a longer chunk needs. */
    private static final class Workspace {
        byte[] stored = new byte[0];
        byte[] scratch = new byte[0];

        byte[] stored(int span) {
            if (span > FETCH_BYTES) {
                return new byte[span]; // one chunk larger than a group's bound: its own
            }
            if (span > stored.length) { // grown as groups need, so a small restore never holds a whole group's bound
                stored = new byte[(int) Math.min(FETCH_BYTES, Math.max(span, 4L * stored.length))];
            }
            return stored;
        }

        byte[] scratch(int longest) {
            if (scratch.length < 2 * longest) {
                scratch = new byte[2 * longest];
            }
            return scratch;
        }
    }

    ChunkReader(StorageTarget target, ObjectCodec codec, ChunkIds ids, boolean encrypted, InputStream chunkList,
            ExecutorService readers, int readAhead, LongConsumer storedRead, String noKey) {
        this.target = target;
        this.codec = codec;
        this.ids = ids;
        this.encrypted = encrypted;
        this.list = new BufferedReader(new InputStreamReader(chunkList, StandardCharsets.UTF_8), 1 << 16);
        this.readers = readers;
        this.readAhead = readAhead;
        this.storedRead = storedRead;
        this.noKey = noKey;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        while (current == null || position == end) {
            if (!advance()) {
                return -1;
            }
        }
        int n = Math.min(length, end - position);
        System.arraycopy(current, position, buffer, offset, n);
        position += n;
        return n;
    }

    private boolean advance() throws IOException {
        if (failure != null) {
            throw failure;
        }
        try {
            return advanceOnce();
        } catch (IOException e) {
            failure = e;
            throw e;
        }
    }

    private boolean advanceOnce() throws IOException {
        if (current != null) {
            giveBack(current);
            current = null;
        }
        fill();
        Future<Decoded> next = fetches.poll();
        if (next == null) {
            return false;
        }
        Decoded decoded;
        try {
            decoded = next.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading chunks");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        fill();
        current = decoded.buffer();
        end = decoded.length();
        position = 0;
        return true;
    }

    private synchronized byte[] buffer(long raw) {
        if (raw > FETCH_RAW_BYTES) {
            return new byte[(int) raw]; // one chunk larger than a group's bound: its own buffer
        }
        byte[] b = spare.poll();
        return b != null ? b : new byte[(int) FETCH_RAW_BYTES];
    }

    private synchronized void giveBack(byte[] buffer) {
        if (buffer.length == FETCH_RAW_BYTES && spare.size() <= readAhead) {
            spare.add(buffer);
        }
    }

    private synchronized Workspace workspace() {
        Workspace w = workspaces.poll();
        return w != null ? w : new Workspace();
    }

    private synchronized void giveBack(Workspace workspace) {
        workspaces.add(workspace); // at most readAhead exist: one per fetch in flight
    }

    /** Starts reads until {@code readAhead} are in flight or the list ends. */
    private void fill() throws IOException {
        while (fetches.size() < readAhead && !listDone) {
            List<Entry> group = nextGroup();
            if (group.isEmpty()) {
                return;
            }
            fetches.add(readers.submit(() -> fetch(group)));
        }
    }

    /**
     * The next run of list entries that lie one after another in one pack, up to {@link #FETCH_BYTES}
     * stored and {@link #FETCH_RAW_BYTES} decoded.
     */
    private List<Entry> nextGroup() throws IOException {
        List<Entry> group = new ArrayList<>();
        long bytes = 0;
        long raw = 0;
        while (true) {
            Entry entry = carried != null ? carried : nextEntry();
            carried = null;
            if (entry == null) {
                listDone = true;
                return group;
            }
            if (!group.isEmpty() && !joins(group.get(group.size() - 1), bytes, raw, entry)) {
                carried = entry;
                return group;
            }
            group.add(entry);
            bytes += entry.length();
            raw += entry.size();
        }
    }

    /**
     * Whether {@code next} joins a group ending with {@code last} that holds {@code bytes} stored and
     * {@code raw} decoded: it follows in the same pack, and both bounds hold with it.
     */
    static boolean joins(Entry last, long bytes, long raw, Entry next) {
        return last.pack().equals(next.pack()) && last.offset() + last.length() == next.offset()
                && bytes + next.length() <= FETCH_BYTES && raw + next.size() <= FETCH_RAW_BYTES;
    }

    private Entry nextEntry() throws IOException {
        String text = list.readLine();
        if (text == null) {
            return null;
        }
        line++;
        try {
            JsonNode node = JSON.readTree(text);
            return new Entry(line, node.get("id").asText(), node.get("pack").asText(), node.get("offset").asLong(),
                    node.get("length").asInt(), node.get("size").asInt(), node.hasNonNull("stored") ? node.get("stored").asText() : null);
        } catch (IOException | RuntimeException e) {
            throw new IOException("chunk list line " + line + " is not a chunk entry: " + e.getMessage());
        }
    }

    private Decoded fetch(List<Entry> group) throws IOException {
        Workspace workspace = workspace();
        try {
            return fetch(group, workspace);
        } finally {
            giveBack(workspace);
        }
    }

    private Decoded fetch(List<Entry> group, Workspace workspace) throws IOException {
        Entry first = group.get(0);
        Entry last = group.get(group.size() - 1);
        int span = (int) (last.offset() + last.length() - first.offset());
        byte[] bytes = workspace.stored(span);
        try {
            target.readInto(first.pack(), first.offset(), bytes, span);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("pack " + first.pack() + " (chunk list line " + first.line() + ") is missing from "
                    + target.name());
        }
        synchronized (this) {
            stored += span;
            storedRead.accept(stored);
        }
        ChunkIds verifier = ids.copy();
        long raw = 0;
        int longest = 0;
        for (Entry entry : group) {
            raw += entry.size();
            longest = Math.max(longest, entry.length());
        }
        byte[] plain = buffer(raw);
        byte[] scratch = encrypted ? workspace.scratch(longest) : null;
        int filled = 0;
        for (Entry entry : group) {
            int at = (int) (entry.offset() - first.offset());
            try {
                codec.decodeChunkInto(bytes, at, entry.length(), encrypted, entry.size(), noKey, scratch, plain, filled);
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().equals(noKey)) {
                    throw e;
                }
                damagedInStorage(entry, bytes, at);
                throw new IOException("chunk " + entry.id() + " (chunk list line " + entry.line() + ", " + entry.pack() + " at "
                        + entry.offset() + ") cannot be decoded: " + e.getMessage(), e);
            }
            String actual = verifier.id(plain, filled, entry.size());
            if (!actual.equals(entry.id())) {
                damagedInStorage(entry, bytes, at);
                throw new IOException("chunk " + entry.id() + " (chunk list line " + entry.line() + ", " + entry.pack() + " at "
                        + entry.offset() + ") does not verify: its content hashes to " + actual);
            }
            filled += entry.size();
        }
        return new Decoded(plain, filled);
    }

    /**
     * A chunk that did not decode or verify: if its stored bytes no longer hash to what the list
     * recorded, storage damaged it, and the error says so. (A chunk that decodes to its id needs no
     * such check: the id covers every byte of its content.)
     */
    private static void damagedInStorage(Entry entry, byte[] bytes, int at) throws IOException {
        if (entry.stored() != null) {
            String storedSha = ChunkIds.plain().id(bytes, at, entry.length());
            if (!storedSha.equals(entry.stored())) {
                throw new IOException("chunk " + entry.id() + " (chunk list line " + entry.line() + ", " + entry.pack() + " at "
                        + entry.offset() + ") is damaged in storage: its stored bytes hash to " + storedSha + ", not " + entry.stored());
            }
        }
    }

    @Override
    public void close() throws IOException {
        for (Future<Decoded> f : fetches) {
            f.cancel(true);
        }
        fetches.clear();
        list.close();
    }
}
