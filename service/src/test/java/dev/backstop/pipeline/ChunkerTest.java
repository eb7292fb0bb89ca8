package dev.backstop.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChunkerTest {

    private static List<byte[]> chunks(byte[] data, int writeSize) throws IOException {
        List<byte[]> chunks = new ArrayList<>();
        try (Chunker chunker = new Chunker((bytes, length) -> chunks.add(Arrays.copyOf(bytes, length)))) {
            for (int i = 0; i < data.length; i += writeSize) {
                chunker.write(data, i, Math.min(writeSize, data.length - i));
            }
        }
        return chunks;
    }

    private static byte[] random(long seed, int size) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    @Test
    void chunksConcatenateToTheInputAndRespectTheSizeBoundsWhateverTheWriteSizes() throws IOException {
        byte[] data = random(1, 24 << 20);
        for (int writeSize : new int[] {1 << 10, 65_536, 3_000_001}) {
            List<byte[]> chunks = chunks(data, writeSize);
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            for (int i = 0; i < chunks.size(); i++) {
                byte[] chunk = chunks.get(i);
                assertThat(chunk.length).isLessThanOrEqualTo(Chunker.MAX);
                if (i < chunks.size() - 1) {
                    assertThat(chunk.length).isGreaterThanOrEqualTo(Chunker.MIN);
                }
                joined.writeBytes(chunk);
            }
            assertThat(joined.toByteArray()).isEqualTo(data);
            assertThat(chunks).as("cuts do not depend on how the bytes were written")
                    .usingElementComparator(Arrays::compare).isEqualTo(chunks(data, 1 << 16));
        }
        int average = data.length / chunks(data, 1 << 16).size();
        assertThat(average).as("average chunk size").isBetween(Chunker.AVERAGE / 2, Chunker.AVERAGE * 2);
    }

    @Test
    void anInsertionChangesOnlyTheChunksAroundIt() throws IOException {
        byte[] data = random(2, 32 << 20);
        byte[] edited = new byte[data.length + 100];
        int at = 17 << 20;
        System.arraycopy(data, 0, edited, 0, at);
        System.arraycopy(random(3, 100), 0, edited, at, 100);
        System.arraycopy(data, at, edited, at + 100, data.length - at);
        Set<String> before = ids(chunks(data, 1 << 16));
        List<byte[]> after = chunks(edited, 1 << 16);
        long changed = after.stream().filter(c -> !before.contains(id(c))).count();
        assertThat(changed).as("chunks of the edited stream not found before").isBetween(1L, 2L);
    }

    @Test
    void aBoundaryEndsAChunkAndConstantDataIsCutAtTheMaximum() throws IOException {
        List<Integer> sizes = new ArrayList<>();
        try (Chunker chunker = new Chunker((bytes, length) -> sizes.add(length))) {
            chunker.write(new byte[1000]);
            chunker.boundary();
            chunker.boundary();
            chunker.write(new byte[9 << 20]);
        }
        assertThat(sizes).containsExactly(1000, Chunker.MAX, Chunker.MAX, (9 << 20) - 2 * Chunker.MAX);
    }

    private static Set<String> ids(List<byte[]> chunks) {
        Set<String> ids = new HashSet<>();
        chunks.forEach(c -> ids.add(id(c)));
        return ids;
    }

    private static String id(byte[] chunk) {
        return ChunkIds.plain().id(chunk, 0, chunk.length);
    }

    @Test
    void alignedCutsFallOnPageBoundariesAndAChangedPageChangesOneChunk() throws IOException {
        byte[] file = random(7, 40 << 20);
        List<byte[]> before = aligned(file);
        for (int i = 0; i < before.size() - 1; i++) {
            assertThat(before.get(i).length % 8192).as("chunk " + i + " ends on a page boundary").isZero();
        }
        int average = file.length / before.size();
        assertThat(average).isBetween(Chunker.AVERAGE / 2, Chunker.AVERAGE * 2);
        byte[] changed = file.clone();
        System.arraycopy(random(8, 8192), 0, changed, 8192 * 2000, 8192); // one page rewritten
        Set<String> ids = ids(before);
        long different = aligned(changed).stream().filter(c -> !ids.contains(id(c))).count();
        assertThat(different).isEqualTo(1);
    }

    private static List<byte[]> aligned(byte[] data) throws IOException {
        List<byte[]> chunks = new ArrayList<>();
        try (Chunker chunker = new Chunker((bytes, length) -> chunks.add(Arrays.copyOf(bytes, length)))) {
            chunker.align(8192);
            chunker.write(data, 0, data.length);
        }
        return chunks;
    }
}
