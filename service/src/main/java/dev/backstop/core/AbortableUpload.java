package dev.backstop.core;

import dev.backstop.storage.ObjectUpload;
import java.io.IOException;
import java.util.function.BooleanSupplier;

/** An upload that refuses further bytes once the service is aborting its snapshots (shutdown past the grace period). */
final class AbortableUpload extends ObjectUpload {
    private final ObjectUpload upload;
    private final BooleanSupplier aborting;

    AbortableUpload(ObjectUpload upload, BooleanSupplier aborting) {
        this.upload = upload;
        this.aborting = aborting;
    }

    private void check() throws IOException {
        if (aborting.getAsBoolean()) {
            throw new IOException(SnapshotService.ABORTED);
        }
    }

    @Override
    public void write(int b) throws IOException {
        check();
        upload.write(b);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        check();
        upload.write(bytes, offset, length);
    }

    @Override
    public void flush() throws IOException {
        upload.flush();
    }

    @Override
    public void commit() throws IOException {
        check();
        upload.commit();
    }

    @Override
    public void abort() {
        upload.abort();
    }

    @Override
    public void close() {
        upload.close();
    }
}
