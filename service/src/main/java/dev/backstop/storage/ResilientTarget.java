package dev.backstop.storage;

import dev.backstop.resilience.Guard;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;

/**
 * A storage target behind its {@link Guard}: calls that finish quickly (put, open, exists, delete,
 * list, sweep) get a timeout, retries with backoff for retryable failures, and the target's circuit
 * breaker. A new upload fails at once while the breaker is open; the parts of an upload are retried
 * inside the target (S3), where the bytes of a part can be sent again.
 */
public final class ResilientTarget implements StorageTarget {
    private final StorageTarget delegate;
    private final Guard guard;

    public ResilientTarget(StorageTarget delegate, Guard guard) {
        this.delegate = delegate;
        this.guard = guard;
    }

    public Guard guard() {
        return guard;
    }

    @Override
    public StorageTarget unretried() {
        return delegate;
    }

    @Override
    public java.util.Optional<Guard> guarded() {
        return java.util.Optional.of(guard);
    }

    public StorageTarget delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public String describe() {
        return delegate.describe();
    }

    @Override
    public ObjectUpload upload(String key) throws IOException {
        guard.checkClosed();
        return delegate.upload(key);
    }

    @Override
    public ObjectUpload uploadReplacing(String key) throws IOException {
        guard.checkClosed();
        return delegate.uploadReplacing(key);
    }

    @Override
    public void put(String key, byte[] content, String contentType) throws IOException {
        guard.call("write " + key, () -> {
            delegate.put(key, content, contentType);
            return null;
        });
    }

    @Override
    public InputStream open(String key) throws IOException {
        return guard.call("open " + key, () -> delegate.open(key));
    }

    @Override
    public byte[] read(String key, long offset, int length) throws IOException {
        return guard.call("read " + key, () -> delegate.read(key, offset, length));
    }

    @Override
    public void readInto(String key, long offset, byte[] into, int length) throws IOException {
        guard.call("read " + key, () -> {
            delegate.readInto(key, offset, into, length);
            return null;
        });
    }

    @Override
    public boolean exists(String key) throws IOException {
        return guard.call("check " + key, () -> delegate.exists(key));
    }

    @Override
    public void delete(String key) throws IOException {
        guard.call("delete " + key, () -> {
            delegate.delete(key);
            return null;
        });
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return guard.call("list " + prefix, () -> delegate.list(prefix));
    }

    @Override
    public String firstWriteCreates() {
        return delegate.firstWriteCreates();
    }

    @Override
    public int sweepStaleUploads(Duration olderThan) throws IOException {
        return guard.call("sweep", () -> delegate.sweepStaleUploads(olderThan));
    }

    @Override
    public boolean copyWithin(StorageTarget source, String key, long size) throws IOException {
        StorageTarget raw = source.unretried();
        return guard.call("copy " + key + " from " + source.name(), () -> delegate.copyWithin(raw, key, size));
    }

    @Override
    public boolean canCopyWithin(StorageTarget source) {
        return delegate.canCopyWithin(source.unretried());
    }

    @Override
    public void close() {
        delegate.close();
    }
}
