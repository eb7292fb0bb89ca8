package dev.backstop.repository;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which neighbouring chunks one ranged read fetches: bounded in stored and in decoded bytes. */
class ChunkReaderGroupsTest {
    private static ChunkReader.Entry entry(String pack, long offset, int length, int size) {
        return new ChunkReader.Entry(1, "id", pack, offset, length, size, null);
    }

    @Test
    void neighboursInOnePackJoinWhileBothBoundsHold() {
        ChunkReader.Entry first = entry("p1", 0, 1 << 20, 1 << 20);
        assertThat(ChunkReader.joins(first, 1 << 20, 1 << 20, entry("p1", 1 << 20, 1 << 20, 1 << 20))).isTrue();
        assertThat(ChunkReader.joins(first, 1 << 20, 1 << 20, entry("p2", 1 << 20, 1 << 20, 1 << 20))).as("another pack").isFalse();
        assertThat(ChunkReader.joins(first, 1 << 20, 1 << 20, entry("p1", 2 << 20, 1 << 20, 1 << 20))).as("not adjacent").isFalse();
        assertThat(ChunkReader.joins(first, 8L << 20, 8L << 20, entry("p1", 1 << 20, 1, 1))).as("stored bound").isFalse();
    }

    @Test
    void wellCompressedChunksStopAtTheDecodedBoundNotTheStoredOne() {
        // 4 MiB chunks of a cluster's empty pages store as a few KiB: by stored bytes alone, a
        // thousand of them would be one read, decoded to 4 GiB in memory at once.
        int stored = 4096;
        int decoded = 4 << 20;
        ChunkReader.Entry first = entry("p1", 0, stored, decoded);
        long bytes = stored;
        long raw = decoded;
        int inGroup = 1;
        ChunkReader.Entry last = first;
        while (true) {
            ChunkReader.Entry next = entry("p1", last.offset() + stored, stored, decoded);
            if (!ChunkReader.joins(last, bytes, raw, next)) {
                break;
            }
            bytes += stored;
            raw += decoded;
            inGroup++;
            last = next;
        }
        assertThat(inGroup).isEqualTo(2);
        assertThat(raw).isLessThanOrEqualTo(ChunkReader.FETCH_RAW_BYTES);
    }
}
