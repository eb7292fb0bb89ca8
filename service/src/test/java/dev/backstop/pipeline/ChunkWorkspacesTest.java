package dev.backstop.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Chunks are compressed and decompressed through zstd contexts and buffers kept from chunk to
 * chunk: nothing of one chunk may reach the next, whatever the order of sizes, levels and
 * failures, and every frame is still one that the stock {@code zstd -d} reads alone.
 */
class ChunkWorkspacesTest {
    private static final ObjectCodec LEVEL_3 = new ObjectCodec(new CompressionConfig(3, 0), null, null);
    private static final ObjectCodec LEVEL_1 = new ObjectCodec(new CompressionConfig(1, 0), null, null);

    private static byte[] chunk(Random random, int size, boolean text) {
        byte[] data = new byte[size];
        if (text) {
            for (int i = 0; i < size; i++) {
                data[i] = (byte) ('a' + random.nextInt(6));
            }
        } else {
            random.nextBytes(data);
        }
        return data;
    }

    @Test
    void chunksOfEverySizeAndLevelInTurnDecodeToThemselves() throws IOException {
        Random random = new Random(21);
        // large then small (a buffer kept from a large chunk holds its bytes), random then text, levels alternating
        int[] sizes = {Chunker.MAX, 1, 0, 300_000, 17, Chunker.MAX - 1, 4096, 1 << 20, 2};
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < sizes.length; i++) {
                byte[] data = chunk(random, sizes[i], (i + round) % 2 == 0);
                ObjectCodec codec = (i + round) % 3 == 0 ? LEVEL_1 : LEVEL_3;
                byte[] stored = codec.encodeChunk(codec.chunkSession(), data, data.length);
                assertThat(com.github.luben.zstd.Zstd.getFrameContentSize(stored)).as("size %d", data.length).isEqualTo(data.length);
                assertThat(codec.decodeChunk(stored, false, data.length, "no key")).as("size %d", data.length).isEqualTo(data);
                // the same frame a one-shot compression at that level makes (nothing of the context's past in it)
                assertThat(stored).isEqualTo(com.github.luben.zstd.Zstd.compress(data, codec.compression().level()));
            }
        }
    }

    @Test
    void onlyTheGivenLengthIsCompressedAndADamagedFrameFailsWithoutSpoilingTheNext() throws IOException {
        Random random = new Random(22);
        byte[] data = chunk(random, 200_000, true);
        byte[] stored = LEVEL_3.encodeChunk(LEVEL_3.chunkSession(), data, 150_000);
        assertThat(LEVEL_3.decodeChunk(stored, false, 150_000, "no key")).isEqualTo(Arrays.copyOf(data, 150_000));

        byte[] damaged = stored.clone();
        damaged[damaged.length / 2] ^= 0x5a;
        damaged[damaged.length / 2 + 1] ^= 0x33;
        assertThatThrownBy(() -> LEVEL_3.decodeChunk(damaged, false, 150_000, "no key"))
                .isInstanceOf(IOException.class).hasMessageContaining("cannot decompress the chunk");
        assertThat(LEVEL_3.decodeChunk(stored, false, 150_000, "no key")).isEqualTo(Arrays.copyOf(data, 150_000));

        assertThatThrownBy(() -> LEVEL_3.decodeChunk(stored, false, 150_001, "no key"))
                .isInstanceOf(IOException.class).hasMessageContaining("150000 bytes");
    }

    @Test
    void moreThreadsThanAreKeptCodeAtOnce() throws Exception {
        int threads = ChunkWorkspaces.KEPT * 2;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Boolean>> results = new java.util.ArrayList<>();
            for (int t = 0; t < threads * 4; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    byte[] data = chunk(random, 50_000 + random.nextInt(400_000), seed % 2 == 0);
                    byte[] stored = LEVEL_3.encodeChunk(LEVEL_3.chunkSession(), data, data.length);
                    return Arrays.equals(LEVEL_3.decode(new ByteArrayInputStream(stored), false, "no key").readAllBytes(), data)
                            && Arrays.equals(LEVEL_3.decodeChunk(stored, false, data.length, "no key"), data);
                }));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
