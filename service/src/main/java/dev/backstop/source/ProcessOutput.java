package dev.backstop.source;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Copies a child process's stdout to a stream through a small bounded queue filled by its own
 * thread. The OS pipe holds only 64 KiB, so without this the tool stalls whenever the pipeline
 * pauses (compression, hashing, a storage write); the queue lets it run ahead by up to
 * {@code BUFFERS x BUFFER_SIZE} (4 MiB) and no further, so memory stays bounded.
 */
public final class ProcessOutput {
    static final int BUFFER_SIZE = 1 << 18;
    static final int BUFFERS = 16;

    private record Chunk(byte[] data, int length) {
        static final Chunk END = new Chunk(new byte[0], -1);
    }

    private ProcessOutput() {}

    /** Copies {@code in} to {@code out} until end of stream; a read failure is rethrown here. */
    public static long copy(InputStream in, OutputStream out, String threadName) throws IOException {
        BlockingQueue<Chunk> filled = new ArrayBlockingQueue<>(BUFFERS + 1);
        BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(BUFFERS);
        for (int i = 0; i < BUFFERS; i++) {
            free.add(new byte[BUFFER_SIZE]);
        }
        IOException[] readFailure = new IOException[1];
        Thread reader = new Thread(() -> {
            try {
                int n;
                do {
                    byte[] buffer = free.take();
                    n = in.readNBytes(buffer, 0, buffer.length);
                    if (n > 0) {
                        filled.put(new Chunk(buffer, n));
                    }
                } while (n == BUFFER_SIZE);
            } catch (IOException e) {
                readFailure[0] = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                filled.offer(Chunk.END);
            }
        }, threadName);
        reader.setDaemon(true);
        reader.start();
        long total = 0;
        try {
            for (Chunk chunk = filled.take(); chunk != Chunk.END; chunk = filled.take()) {
                out.write(chunk.data(), 0, chunk.length());
                total += chunk.length();
                free.put(chunk.data());
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while copying " + threadName);
        } finally {
            reader.interrupt(); // when the write side failed: stop the reader; the caller ends the process
        }
        if (readFailure[0] != null) {
            throw readFailure[0];
        }
        return total;
    }
}
