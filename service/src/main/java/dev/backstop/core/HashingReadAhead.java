package dev.backstop.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Reads a stored object on a thread of its own, hashing and counting it there, and hands the bytes
 * on in chunks through a small bounded queue: the download and SHA-256 run beside the decryption
 * and decompression that read from this stream, as the stock {@code zstd -d | pg_restore} pipe
 * runs its stages in separate processes. Memory stays at {@code depth x chunk}. A failure of the
 * reader (including one {@code progress} throws to stop) is rethrown to the consumer.
 */
final class HashingReadAhead extends InputStream {
    private static final byte[] END = new byte[0];

    private final BlockingQueue<Object> chunks;
    private final Thread reader;
    private volatile boolean closed;
    private byte[] current = new byte[0];
    private int position;
    private boolean ended;

    HashingReadAhead(InputStream source, MessageDigest digest, LongConsumer progress, int chunk, int depth, String name) {
        this.chunks = new ArrayBlockingQueue<>(depth);
        this.reader = new Thread(() -> pump(source, digest, progress, chunk), name);
        reader.setDaemon(true);
        reader.start();
    }

    private void pump(InputStream source, MessageDigest digest, LongConsumer progress, int chunk) {
        long count = 0;
        try (source) {
            while (!closed) {
                byte[] buffer = new byte[chunk];
                int filled = source.readNBytes(buffer, 0, chunk);
                if (filled == 0) {
                    break;
                }
                digest.update(buffer, 0, filled);
                count += filled;
                progress.accept(count);
                put(filled == chunk ? buffer : Arrays.copyOf(buffer, filled));
                if (filled < chunk) {
                    break;
                }
            }
            put(END);
        } catch (IOException | RuntimeException e) {
            try {
                put(e);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void put(Object item) throws InterruptedException {
        while (!closed && !chunks.offer(item, 100, TimeUnit.MILLISECONDS)) {
            // the consumer is slower: wait for room (or for close)
        }
    }

    private boolean fill() throws IOException {
        if (ended) {
            return false;
        }
        while (position == current.length) {
            Object next;
            try {
                next = chunks.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading the stored object");
            }
            if (next instanceof IOException io) {
                ended = true;
                throw io;
            }
            if (next instanceof UncheckedIOException unchecked) {
                ended = true;
                throw unchecked;
            }
            if (next instanceof RuntimeException runtime) {
                ended = true;
                throw runtime;
            }
            if (next == END) {
                ended = true;
                return false;
            }
            current = (byte[]) next;
            position = 0;
        }
        return true;
    }

    @Override
    public int read() throws IOException {
        return fill() ? current[position++] & 0xff : -1;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(length, current.length - position);
        System.arraycopy(current, position, buffer, offset, n);
        position += n;
        return n;
    }

    /** No mark/reset: the bytes have been hashed once already. */
    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        chunks.clear(); // frees a reader waiting for room; it sees closed and stops
        try {
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
