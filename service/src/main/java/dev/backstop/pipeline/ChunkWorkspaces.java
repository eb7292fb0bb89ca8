package dev.backstop.pipeline;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * What coding one chunk needs besides its bytes, kept from chunk to chunk: zstd's contexts (a
 * one-shot call makes a new one each time, allocating and clearing its tables: most of the cost of
 * an incompressible chunk) and the buffer a chunk is compressed into (a new one each time was a
 * humongous allocation for G1 and its concurrent cycles). Taken for one chunk and given back; at
 * most {@link #KEPT} of each kind are kept (as many as the encoder and reader pools have threads),
 * the others closed, so what is kept is bounded whatever calls in.
 */
final class ChunkWorkspaces {
    static final int KEPT = Runtime.getRuntime().availableProcessors() + 2;
    /** A compression buffer larger than this (a chunk far above Chunker's maximum) is not kept. */
    private static final int KEPT_BUFFER = (int) com.github.luben.zstd.Zstd.compressBound(Chunker.MAX) + 64;
    private static final BlockingQueue<Encoder> ENCODERS = new ArrayBlockingQueue<>(KEPT);
    private static final BlockingQueue<ZstdDecompressCtx> DECODERS = new ArrayBlockingQueue<>(KEPT);

    private ChunkWorkspaces() {
    }

    /** A zstd compression context and the buffer chunks are compressed into. */
    static final class Encoder {
        final ZstdCompressCtx zstd = new ZstdCompressCtx();
        private byte[] buffer = new byte[0];

        /** The buffer, at least {@code size} bytes; its content is not kept from one chunk to the next. */
        byte[] buffer(int size) {
            if (buffer.length < size) {
                buffer = new byte[size];
            }
            return buffer;
        }
    }

    static Encoder encoder() {
        Encoder e = ENCODERS.poll();
        return e != null ? e : new Encoder();
    }

    static void release(Encoder e) {
        if (e.buffer.length > KEPT_BUFFER) {
            e.buffer = new byte[0];
        }
        if (!ENCODERS.offer(e)) {
            e.zstd.close();
        }
    }

    static ZstdDecompressCtx decoder() {
        ZstdDecompressCtx d = DECODERS.poll();
        return d != null ? d : new ZstdDecompressCtx();
    }

    static void release(ZstdDecompressCtx d) {
        if (!DECODERS.offer(d)) {
            d.close();
        }
    }
}
