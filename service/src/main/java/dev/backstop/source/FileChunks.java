package dev.backstop.source;

import java.io.IOException;

/**
 * What a snapshot stored as chunks offers a source that writes files (a directory's tar): each
 * file's content starts and ends a chunk, and a file whose identity (size, mtime, ctime, inode) is
 * the parent snapshot's reuses the parent's chunks without being read, as restic does. Every call
 * first flushes what the source wrote before it.
 */
public interface FileChunks {

    /** The identity a file is compared by. Times in nanoseconds since the epoch. */
    record Identity(long size, long mtimeNs, long ctimeNs, long inode) {}

    /**
     * When the parent snapshot stored {@code path} with this identity, and its chunks are still in
     * the repository: names them as this file's content (its padding included, {@code size} plus
     * padding bytes) and returns true; the source then writes the same number of bytes through a
     * muted stream. False: the source reads the file between {@link #startFile()} and {@link #endFile}.
     */
    boolean reuse(String path, Identity identity) throws IOException;

    /** The bytes written from here to {@link #endFile} are one file's content (and its padding). */
    void startFile() throws IOException;

    /** As {@link #startFile()}, cut only at multiples of {@code alignment} bytes (a PostgreSQL relation file's 8 KiB pages). */
    default void startFile(int alignment) throws IOException {
        startFile();
    }

    /** The file's content ended; it is remembered under {@code path} for the next snapshot. */
    void endFile(String path, Identity identity) throws IOException;

    /** Every file is read (the first snapshot, or a forced full read). */
    FileChunks NONE = null;
}
