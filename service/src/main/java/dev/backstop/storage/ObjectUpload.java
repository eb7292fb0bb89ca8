package dev.backstop.storage;

import java.io.IOException;
import java.io.OutputStream;

/**
 * An object being written. Write the bytes, then {@link #commit()} to publish them under the final
 * key. {@link #close()} without a successful commit aborts: the partial object is removed (S3:
 * the multipart upload is aborted; filesystem: the temp file is deleted).
 */
public abstract class ObjectUpload extends OutputStream {

    /** Publishes the object under its final key; afterwards it is complete and durable. */
    public abstract void commit() throws IOException;

    /** Discards what was written. Safe to call more than once, and after a failed commit. */
    public abstract void abort();

    /** Aborts unless committed. */
    @Override
    public abstract void close();
}
