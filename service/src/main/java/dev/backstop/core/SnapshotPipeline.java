package dev.backstop.core;

import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.backstop.pipeline.CompressionConfig;
import dev.backstop.pipeline.MeasuringOutputStream;
import dev.backstop.pipeline.OpenPgpEncryptor;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import dev.backstop.storage.ObjectUpload;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * source stream -> zstd -> [OpenPGP] -> SHA-256 and byte count -> storage upload, all streaming.
 * Nothing is buffered beyond fixed-size buffers, so memory does not grow with the snapshot.
 */
public final class SnapshotPipeline {
    private static final int BUFFER = 1 << 17;

    private final CompressionConfig compression;
    private final OpenPgpEncryptor encryptor;

    /** @param encryptor null when snapshots are not encrypted */
    public SnapshotPipeline(CompressionConfig compression, OpenPgpEncryptor encryptor) {
        this.compression = compression;
        this.encryptor = encryptor;
    }

    /** What went through the pipeline. */
    public record Result(long rawBytes, long storedBytes, String sha256, SourceReport report) {}

    /** File name suffix of the stored object after the source's own extension. */
    public String suffix() {
        return ".zst" + (encryptor == null ? "" : ".pgp");
    }

    public String compression() {
        return compression.describe();
    }

    /** The recipient fingerprint, or null when not encrypting. */
    public String encryptionFingerprint() {
        return encryptor == null ? null : encryptor.recipientFingerprint();
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
        MeasuringOutputStream stored = MeasuringOutputStream.hashing(new OpenPgpEncryptor.Unclosable(upload));
        OutputStream encrypted = encryptor == null ? stored : encryptor.encrypt(stored);
        ZstdOutputStreamNoFinalizer zstd = new ZstdOutputStreamNoFinalizer(encrypted, compression.level());
        if (compression.workers() > 0) {
            zstd.setWorkers(compression.workers());
        }
        MeasuringOutputStream raw = MeasuringOutputStream.counting(zstd);
        SourceReport report;
        try (OutputStream sourceOut = new BufferedOutputStream(new StoppableOutputStream(raw, stop,
                () -> progress.bytes(raw.count(), stored.count())), BUFFER)) {
            report = source.writeTo(sourceOut);
        }
        // Closing the chain finished zstd's frame and the OpenPGP message; the upload stays open.
        return new Result(raw.count(), stored.count(), stored.sha256(), report);
    }

    /** Fails the next write once {@code stop} says so. */
    private static final class StoppableOutputStream extends java.io.FilterOutputStream {
        private final java.util.function.BooleanSupplier stop;
        private final Runnable written;

        StoppableOutputStream(OutputStream out, java.util.function.BooleanSupplier stop, Runnable written) {
            super(out);
            this.stop = stop;
            this.written = written;
        }

        @Override
        public void write(int b) throws IOException {
            check();
            out.write(b);
            written.run();
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            check();
            out.write(bytes, offset, length);
            written.run();
        }

        private void check() throws IOException {
            if (stop.getAsBoolean()) {
                throw new IOException("stopped: the snapshot was aborted or cancelled");
            }
        }
    }
}
