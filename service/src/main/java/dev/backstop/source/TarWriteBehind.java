package dev.backstop.source;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * The writing half of {@link TarExtractor}: entries and their content, in tar order, applied to the
 * file system on a thread of its own while the extracting thread goes on reading (and verifying)
 * the stream, so that a restore does not stop for every write. Everything that touches the file
 * system, the safety checks included, runs here in the tar's order: an entry is checked against
 * the links earlier entries created. Memory: {@link #BUFFERS} buffers of {@link #BUFFER} bytes and
 * at most {@link #EVENTS} queued entries.
 */
final class TarWriteBehind {
    static final int BUFFER = 512 << 10;
    static final int BUFFERS = 32;
    /** Entries queued at most: a tree of millions of empty files or directories must not queue them all. */
    static final int EVENTS = 4096;

    private sealed interface Event permits Start, Data, FileEnd, End {}

    private record Start(TarArchiveEntry entry) implements Event {}

    private record Data(byte[] buffer, int length) implements Event {}

    private record FileEnd() implements Event {}

    private record End() implements Event {}

    private record DirectoryTimes(Path dir, FileTime mtime, int mode) {}

    private final Path root;
    private final BlockingQueue<Event> events = new ArrayBlockingQueue<>(EVENTS);
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(BUFFERS);
    private final Thread thread;
    private int allocated;
    private volatile Exception failure;
    private volatile boolean aborted;
    // The writer thread's own state.
    private final List<DirectoryTimes> directories = new ArrayList<>();
    private FileChannel file;
    private Path filePath;
    private TarArchiveEntry fileEntry;
    private int count;

    TarWriteBehind(Path root) {
        this.root = root;
        this.thread = new Thread(this::run, "tar-write-" + root.getFileName());
        thread.setDaemon(true);
        thread.start();
    }

    /** An entry begins; a regular file's content follows as {@link #data} and ends with {@link #endFile()}. */
    void start(TarArchiveEntry entry) throws IOException {
        put(new Start(entry));
    }

    /** A buffer to fill with content; waits while every buffer is queued for writing. */
    byte[] buffer() throws IOException {
        while (true) {
            check();
            byte[] b = free.poll();
            if (b == null && allocated < BUFFERS) {
                allocated++;
                return new byte[BUFFER];
            }
            if (b != null) {
                return b;
            }
            try {
                b = free.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while extracting");
            }
            if (b != null) {
                return b;
            }
        }
    }

    /** {@code length} bytes of {@code buffer} (from {@link #buffer()}) are the current file's next content. */
    void data(byte[] buffer, int length) throws IOException {
        if (length == 0) {
            free.offer(buffer);
            return;
        }
        put(new Data(buffer, length));
    }

    /** The buffer was not used. */
    void unused(byte[] buffer) {
        free.offer(buffer);
    }

    void endFile() throws IOException {
        put(new FileEnd());
    }

    /** Queues an event; waits while the queue is full, and fails as soon as the writer has. */
    private void put(Event event) throws IOException {
        try {
            while (true) {
                check();
                if (events.offer(event, 100, TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while extracting");
        }
    }

    /**
     * Every entry is queued: waits until all are written and the directories' modes and times
     * applied, and returns how many entries were extracted; the writer's failure if it failed.
     */
    int finish() throws IOException {
        put(new End());
        join();
        check();
        return count;
    }

    /** The extraction failed or was cancelled: stops the writer and waits until it no longer touches the file system. */
    void abort() {
        aborted = true;
        thread.interrupt();
        join();
    }

    /** Throws the writer's failure, if any. */
    private void check() throws IOException {
        Exception e = failure;
        if (e instanceof IOException io) {
            throw io;
        }
        if (e instanceof RuntimeException re) {
            throw re;
        }
    }

    private void join() {
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (!aborted) {
                Event event = events.take();
                if (event instanceof End) {
                    if (failure == null) {
                        finishDirectories();
                    }
                    return;
                }
                if (failure != null) {
                    if (event instanceof Data d) {
                        free.offer(d.buffer());
                    }
                    continue; // the extracting thread sees the failure at its next step
                }
                apply(event);
            }
        } catch (InterruptedException e) {
            // aborted
        } catch (IOException | RuntimeException e) {
            failure = e;
        } catch (Error e) {
            failure = new IOException("the tar writer failed: " + e, e); // never a count for entries not written
            throw e;
        } finally {
            closeFile();
        }
    }

    private void apply(Event event) throws IOException {
        try {
            if (event instanceof Start s) {
                begin(s.entry());
            } else if (event instanceof Data d) {
                write(d);
            } else if (event instanceof FileEnd) {
                endCurrentFile();
            }
        } catch (IOException | RuntimeException e) {
            failure = e;
            closeFile();
        }
    }

    /** Whether {@code entry} is a regular file: its content follows it in the tar, and {@link #begin} opens a file for it. */
    static boolean hasContent(TarArchiveEntry entry) {
        return !entry.isDirectory() && !entry.isSymbolicLink() && !entry.isLink() && entry.isFile();
    }

    private void begin(TarArchiveEntry entry) throws IOException {
        Path target = TarExtractor.safeTarget(root, entry.getName());
        Path parent = target.getParent();
        TarExtractor.ensureNoSymlinkOnPath(root, parent);
        Files.createDirectories(parent);
        if (entry.isDirectory()) {
            Files.createDirectories(target);
            directories.add(new DirectoryTimes(target, entry.getLastModifiedTime(), entry.getMode()));
        } else if (entry.isSymbolicLink()) {
            Path link = Path.of(entry.getLinkName());
            Path resolved = (link.isAbsolute() ? link : parent.resolve(link)).normalize();
            if (link.isAbsolute() || !resolved.startsWith(root)) {
                throw new TarExtractor.UnsafeEntryException("symlink " + entry.getName() + " -> " + entry.getLinkName()
                        + " points outside the target");
            }
            Files.createSymbolicLink(target, link);
        } else if (entry.isLink()) {
            Path linked = TarExtractor.safeTarget(root, entry.getLinkName());
            Files.createLink(target, linked);
        } else if (hasContent(entry)) {
            file = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            filePath = target;
            fileEntry = entry;
            return; // counted when its content is written
        } else {
            return; // devices, FIFOs: never written by Backstop's snapshots
        }
        count++;
    }

    private void write(Data data) throws IOException {
        try {
            if (file == null) {
                throw new IOException("tar content outside a file entry");
            }
            ByteBuffer bytes = ByteBuffer.wrap(data.buffer(), 0, data.length());
            while (bytes.hasRemaining()) {
                file.write(bytes);
            }
        } finally {
            free.offer(data.buffer());
        }
    }

    private void endCurrentFile() throws IOException {
        if (file == null) {
            return;
        }
        file.close();
        file = null;
        TarExtractor.applyMode(filePath, fileEntry.getMode());
        Files.setLastModifiedTime(filePath, fileEntry.getLastModifiedTime());
        count++;
    }

    private void finishDirectories() throws IOException {
        for (int i = directories.size() - 1; i >= 0; i--) {
            DirectoryTimes d = directories.get(i);
            TarExtractor.applyMode(d.dir(), d.mode());
            Files.setLastModifiedTime(d.dir(), d.mtime());
        }
    }

    private void closeFile() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // the restore failed: its directory is removed by its owner
            }
            file = null;
        }
    }
}
