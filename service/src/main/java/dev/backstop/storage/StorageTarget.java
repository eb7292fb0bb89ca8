package dev.backstop.storage;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;

/**
 * Where snapshot objects live. Keys are relative to the target's own root or prefix and use '/'.
 * Implementations stream: an upload never holds a whole object in memory or stages it on disk.
 */
public interface StorageTarget extends AutoCloseable {

    /** The configured name ({@code storage.targets[].name}). */
    String name();

    /** Where the target points, for logs and messages; never contains credentials. */
    String describe();

    /**
     * Starts writing an object. Nothing is visible under {@code key} until
     * {@link ObjectUpload#commit()} returns; closing without committing discards everything.
     */
    ObjectUpload upload(String key) throws IOException;

    /**
     * Starts writing an object that, on commit, replaces what {@code key} holds (objects meant to be
     * rewritten: a WAL archive's partial segment and status). Readers see the old object or the new
     * one, never neither. {@link #upload} never replaces.
     */
    ObjectUpload uploadReplacing(String key) throws IOException;

    /** Writes a small object (a manifest) in one call, atomically. */
    void put(String key, byte[] content, String contentType) throws IOException;

    /** Opens an object for reading; {@link java.nio.file.NoSuchFileException} when it does not exist. */
    InputStream open(String key) throws IOException;

    boolean exists(String key) throws IOException;

    /**
     * Reads {@code length} bytes of an object from {@code offset} (a chunk in its pack); fails
     * when the object ends sooner. {@link java.nio.file.NoSuchFileException} when it does not exist.
     */
    default byte[] read(String key, long offset, int length) throws IOException {
        try (InputStream in = open(key)) {
            in.skipNBytes(offset);
            byte[] bytes = in.readNBytes(length);
            if (bytes.length != length) {
                throw new java.io.EOFException(key + " ends before byte " + (offset + length));
            }
            return bytes;
        } catch (java.io.EOFException e) {
            throw new java.io.EOFException(key + " ends before byte " + (offset + length));
        }
    }

    /**
     * As {@link #read(String, long, int)}, into {@code into[0, length)}: a reader that reads many
     * ranges reuses one buffer instead of allocating each.
     */
    default void readInto(String key, long offset, byte[] into, int length) throws IOException {
        System.arraycopy(read(key, offset, length), 0, into, 0, length);
    }

    /** Deletes an object; deleting a missing object is not an error. */
    void delete(String key) throws IOException;

    /** Keys (relative) of every object under a prefix. */
    List<String> list(String prefix) throws IOException;

    /**
     * Removes what interrupted uploads left behind (open S3 multipart uploads, temp files) that is
     * older than {@code olderThan}. Returns how many were removed.
     */
    int sweepStaleUploads(Duration olderThan) throws IOException;

    /**
     * Copies {@code key} from {@code source} into this target without streaming it through the
     * service, when both sides allow it (two buckets on the same S3 endpoint). Returns false when
     * it cannot, and the caller streams the object instead.
     */
    default boolean copyWithin(StorageTarget source, String key, long size) throws IOException {
        return false;
    }

    /**
     * What the first write would have to create (a filesystem target's root that does not exist
     * yet), said as a reason; null when nothing. {@code check}, which changes nothing, reports this
     * instead of writing its probe.
     */
    default String firstWriteCreates() {
        return null;
    }

    /** Whether {@link #copyWithin} can copy from {@code source} (same S3 endpoint and credentials). */
    default boolean canCopyWithin(StorageTarget source) {
        return false;
    }

    /**
     * The same target without retries (one attempt each call), for callers that must answer at
     * once: a health probe, the clean-up after a failed snapshot. Itself when it has none.
     */
    default StorageTarget unretried() {
        return this;
    }

    /** The guard this target's calls go through (its breaker and quality score), when it has one. */
    default java.util.Optional<dev.backstop.resilience.Guard> guarded() {
        return java.util.Optional.empty();
    }

    @Override
    default void close() {}
}
