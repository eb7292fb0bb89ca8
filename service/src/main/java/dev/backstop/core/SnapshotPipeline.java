package dev.backstop.core;

import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import dev.backstop.storage.ObjectUpload;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * source stream -> {@link ObjectCodec#encoding} (zstd -> [OpenPGP] -> SHA-256 and byte count) ->
 * storage upload, all streaming, stopped at the source's next write on an abort or a cancel.
 * Nothing is buffered beyond fixed-size buffers, so memory does not grow with the snapshot.
 */
public final class SnapshotPipeline {
    private static final int BUFFER = 1 << 17;

    private final ObjectCodec codec;

    public SnapshotPipeline(ObjectCodec codec) {
        this.codec = codec;
    }

    /** What went through the pipeline. */
    public record Result(long rawBytes, long storedBytes, String sha256, SourceReport report) {}

    /** File name suffix of the stored object after the source's own extension. */
    public String suffix() {
        return codec.suffix();
    }

    public String compression() {
        return codec.compressionName();
    }

    /** The recipient fingerprint, or null when not encrypting. */
    public String encryptionFingerprint() {
        return codec.encryptionFingerprint();
    }

    /** Streams the source into the upload; the caller commits or aborts the upload afterwards. */
    public Result run(SnapshotSource source, ObjectUpload upload) throws IOException {
        return run(source, upload, () -> false);
    }

    /**
     * As {@link #run(SnapshotSource, ObjectUpload)}; {@code stop} is asked before every write the
     * source makes, so that an abort takes effect at once even while the compressor has nothing to
     * emit yet (a high zstd level buffers many MiB before its first output).
     */
    public Result run(SnapshotSource source, ObjectUpload upload, java.util.function.BooleanSupplier stop) throws IOException {
        return run(source, upload, stop, (read, stored) -> { });
    }

    /** Bytes read from the source and stored so far, told after every write the source makes. */
    @FunctionalInterface
    public interface Progress {
        void bytes(long read, long stored);
    }

    public Result run(SnapshotSource source, ObjectUpload upload, java.util.function.BooleanSupplier stop, Progress progress)
            throws IOException {
        ObjectCodec.Encoding encoding = codec.encoding(upload);
        SourceReport report;
        try (OutputStream sourceOut = new BufferedOutputStream(new dev.backstop.pipeline.StoppableOutputStream(encoding.input(), stop,
                () -> progress.bytes(encoding.rawBytes(), encoding.storedBytes())), BUFFER)) {
            report = source.writeTo(sourceOut);
        }
        // Closing the chain finished zstd's frame and the OpenPGP message; the upload stays open.
        return new Result(encoding.rawBytes(), encoding.storedBytes(), encoding.storedSha256(), report);
    }

    /**
     * Streams the source into {@code sink} (a chunked snapshot's repository writer) with the same
     * stop checks and progress as {@link #run}; {@code stored} tells the bytes stored so far.
     */
    public SourceReport runInto(SnapshotSource source, OutputStream sink, java.util.function.LongSupplier read,
            java.util.function.LongSupplier stored, java.util.function.BooleanSupplier stop, Progress progress,
            java.util.function.Function<dev.backstop.repository.DirectoryFiles.Flush, dev.backstop.source.FileChunks> files)
            throws IOException {
        SourceReport report;
        OutputStream sourceOut = new BufferedOutputStream(new dev.backstop.pipeline.StoppableOutputStream(new KeepOpen(sink), stop,
                () -> progress.bytes(read.getAsLong(), stored.getAsLong())), BUFFER);
        try (sourceOut) {
            report = source.writeTo(sourceOut, files.apply(sourceOut::flush));
        }
        return report;
    }

    /** Keeps the sink open when the source's stream is closed (its owner finishes it). */
    private static final class KeepOpen extends java.io.FilterOutputStream {
        KeepOpen(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            out.write(bytes, offset, length);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }

}
