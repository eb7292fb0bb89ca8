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
    /** Cuts only at multiples of this many bytes from the chunk's start (1: anywhere); set per file by {@link #align}. */
    private int alignment = 1;
    private long alignedMaskSmall = MASK_SMALL;
    private long alignedMaskLarge = MASK_LARGE;

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

    /**
     * From the next chunk on, cuts fall only on multiples of {@code bytes} (a power of two) from the
     * chunk's start: a PostgreSQL relation file cut at 8 KiB pages changes one chunk per changed
     * region. The masks lose as many bits as the alignment has, so the average size stays. Ends the
     * current chunk; {@link #boundary()} or {@code align(1)} goes back to cutting anywhere.
     */
    public void align(int bytes) throws IOException {
        if (Integer.bitCount(bytes) != 1 || bytes > min) {
            throw new IllegalArgumentException("alignment must be a power of two no larger than the minimum chunk size");
        }
        boundary();
        alignment = bytes;
        int bits = Integer.numberOfTrailingZeros(bytes);
        alignedMaskSmall = MASK_SMALL << bits;
        alignedMaskLarge = MASK_LARGE << bits;
    }

    /** The end of the next chunk in the buffer, or -1 when more bytes are needed to decide. */
    private int findCut() {
        if (alignment > 1) {
            return findAlignedCut();
        }
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

    private int findAlignedCut() {
        if (scanned < min) {
            scanned = Math.min(min, filled);
            if (scanned < min) {
                return -1;
            }
        }
        long h = hash;
        int i = scanned;
        int end = Math.min(max, filled);
        int mask = alignment - 1;
        for (; i < end; i++) {
            h = (h << 1) + GEAR[buffer[i] & 0xff];
            if (((i + 1) & mask) == 0 && (h & (i < average ? alignedMaskSmall : alignedMaskLarge)) == 0) {
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
        alignment = 1;
    }

    /** Emits what is pending as the last chunk. The sink is not closed. */
    @Override
    public void close() throws IOException {
        boundary();
    }
}
