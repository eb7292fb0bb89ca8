package dev.backstop.pipeline;

import java.io.IOException;
import java.io.OutputStream;
import java.util.SplittableRandom;

/**
 * Content-defined chunking (FastCDC: a gear rolling hash with normalized chunking): what is written
 * is cut where the content says, so an insertion or a changed region moves only the chunks around
 * it and every other chunk is found again in the next snapshot. Chunks are between {@link #MIN} and
 * {@link #MAX} bytes, {@link #AVERAGE} on average; {@link #boundary()} ends a chunk where the source
 * knows one ends (a file). Memory: one buffer of {@link #MAX} bytes.
 *
 * <p>The gear table comes from a fixed seed: chunk boundaries are a property of the format, so the
 * same content chunks the same way on every host and in every version.
 */
public final class Chunker extends OutputStream {
    public static final int MIN = 256 << 10;
    public static final int AVERAGE = 1 << 20;
    public static final int MAX = 4 << 20;
    /** Before the average size a cut needs 22 zero bits (rarer), after it 18 (likelier): sizes cluster near the average. */
    private static final long MASK_SMALL = -1L << (64 - 22);
    private static final long MASK_LARGE = -1L << (64 - 18);
    private static final long[] GEAR = new long[256];

    static {
        SplittableRandom random = new SplittableRandom(0x6261636b73746f70L); // "backstop"
        for (int i = 0; i < GEAR.length; i++) {
            GEAR[i] = random.nextLong();
        }
    }

    /** Receives each chunk; {@code data} is reused after the call returns. */
    @FunctionalInterface
    public interface Sink {
        void chunk(byte[] data, int length) throws IOException;
    }

    private final Sink sink;
    private final int min;
    private final int average;
    private final int max;
    private final byte[] buffer;
    private int filled;
    /** Bytes of the buffer the hash has seen. */
    private int scanned;
    private long hash;
    private long total;

    public Chunker(Sink sink) {
        this(sink, MIN, AVERAGE, MAX);
    }

    /** With other sizes (tests); {@code average} is only where normalization switches masks. */
    public Chunker(Sink sink, int min, int average, int max) {
        if (!(0 < min && min <= average && average <= max)) {
            throw new IllegalArgumentException("chunk sizes must satisfy 0 < min <= average <= max");
        }
        this.sink = sink;
        this.min = min;
        this.average = average;
        this.max = max;
        this.buffer = new byte[max];
    }

    /** Bytes written so far. */
    public long total() {
        return total;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] data, int offset, int length) throws IOException {
        total += length;
        while (length > 0) {
            int n = Math.min(length, max - filled);
            System.arraycopy(data, offset, buffer, filled, n);
            filled += n;
            offset += n;
            length -= n;
            scan();
        }
    }

    /** Cuts what the buffer holds past the scanned position, emitting every chunk it completes. */
    private void scan() throws IOException {
        while (true) {
            int cut = findCut();
            if (cut < 0) {
                return;
            }
            emit(cut);
        }
    }

    /** The end of the next chunk in the buffer, or -1 when more bytes are needed to decide. */
    private int findCut() {
        if (scanned < min) {
            scanned = Math.min(min, filled);
            if (scanned < min) {
                return -1;
            }
        }
        long h = hash;
        int i = scanned;
        int normal = Math.min(average, filled);
        for (; i < normal; i++) {
            h = (h << 1) + GEAR[buffer[i] & 0xff];
            if ((h & MASK_SMALL) == 0) {
                hash = 0;
                return i + 1;
            }
        }
        int end = Math.min(max, filled);
        for (; i < end; i++) {
            h = (h << 1) + GEAR[buffer[i] & 0xff];
            if ((h & MASK_LARGE) == 0) {
                hash = 0;
                return i + 1;
            }
        }
        hash = h;
        scanned = i;
        return filled >= max ? max : -1;
    }

    private void emit(int length) throws IOException {
        sink.chunk(buffer, length);
        int rest = filled - length;
        System.arraycopy(buffer, length, buffer, 0, rest);
        filled = rest;
        scanned = 0;
        hash = 0;
    }

    /** Ends the current chunk here (a file ends); nothing happens when no bytes are pending. */
    public void boundary() throws IOException {
        if (filled > 0) {
            emit(filled);
        }
    }

    /** Emits what is pending as the last chunk. The sink is not closed. */
    @Override
    public void close() throws IOException {
        boundary();
    }
}
