package dev.backstop.storage.filesystem;

import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Objects as files. An upload writes {@code .<name>.part-<uuid>} beside the final name, fsyncs it,
 * renames it atomically into place and fsyncs the directory: a crash leaves either nothing or a
 * temp file (removed by the sweep), never a half object under a final name.
 */
public final class FilesystemTarget implements StorageTarget {
    private static final Logger LOG = LoggerFactory.getLogger(FilesystemTarget.class);
    static final String PART_MARKER = ".part-";

    private final String name;
    private final Path root;

    public FilesystemTarget(String name, Path root) {
        this.name = name;
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String describe() {
        return "file://" + root;
    }

    public Path root() {
        return root;
    }

    @Override
    public String firstWriteCreates() {
        if (java.nio.file.Files.isDirectory(root)) {
            return null;
        }
        Path parent = root.getParent();
        while (parent != null && !java.nio.file.Files.exists(parent)) {
            parent = parent.getParent();
        }
        if (parent == null) {
            return root + " does not exist yet and cannot be created: no parent exists";
        }
        // access(2) says yes to root everywhere (even /proc): try it, with a directory removed at once.
        try {
            java.nio.file.Files.delete(java.nio.file.Files.createTempDirectory(parent, ".backstop-check-"));
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return root + " does not exist yet and cannot be created: " + parent + " is not writable by this user ("
                    + e.getClass().getSimpleName().replace("Exception", "") + ")";
        }
        return root + " does not exist yet; the service creates it at its first write";
    }

    Path resolve(String key) {
        Path path = root.resolve(key).normalize();
        if (!path.startsWith(root) || key.isBlank()) {
            throw new IllegalArgumentException("key escapes the storage root: " + key);
        }
        return path;
    }

    @Override
    public ObjectUpload upload(String key) throws IOException {
        return upload(key, false);
    }

    /** rename(2) over the old file: readers see the old or the new one. */
    @Override
    public ObjectUpload uploadReplacing(String key) throws IOException {
        return upload(key, true);
    }

    private ObjectUpload upload(String key, boolean replace) throws IOException {
        Path target = resolve(key);
        Files.createDirectories(target.getParent());
        Path temp = target.resolveSibling("." + target.getFileName() + PART_MARKER + UUID.randomUUID());
        FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new FileUpload(channel, temp, target, replace);
    }

    @Override
    public void put(String key, byte[] content, String contentType) throws IOException {
        try (ObjectUpload upload = upload(key)) {
            upload.write(content);
            upload.commit();
        }
    }

    @Override
    public InputStream open(String key) throws IOException {
        return Files.newInputStream(resolve(key));
    }

    @Override
    public byte[] read(String key, long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        readInto(key, offset, bytes, length);
        return bytes;
    }

    @Override
    public void readInto(String key, long offset, byte[] into, int length) throws IOException {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(resolve(key))) {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(into, 0, length);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, offset + buffer.position()) < 0) {
                    throw new java.io.EOFException(key + " ends before byte " + (offset + length));
                }
            }
        }
    }

    @Override
    public boolean exists(String key) {
        return Files.isRegularFile(resolve(key));
    }

    @Override
    public void delete(String key) throws IOException {
        Path path = resolve(key);
        Files.deleteIfExists(path);
        // Leave no empty day/snapshot directories behind, but never remove the root itself.
        Path dir = path.getParent();
        while (dir != null && dir.startsWith(root) && !dir.equals(root)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    break;
                }
            } catch (IOException gone) {
                break;
            }
            Files.deleteIfExists(dir);
            dir = dir.getParent();
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        Path start = prefix.isEmpty() ? root : resolve(prefix);
        if (!Files.isDirectory(start)) {
            return List.of();
        }
        List<String> keys = new ArrayList<>();
        try (Stream<Path> files = Files.walk(start)) {
            files.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().contains(PART_MARKER))
                    .forEach(p -> keys.add(root.relativize(p).toString().replace('\\', '/')));
        }
        keys.sort(String::compareTo);
        return keys;
    }

    @Override
    public int sweepStaleUploads(Duration olderThan) throws IOException {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        Instant cutoff = Instant.now().minus(olderThan);
        int removed = 0;
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.filter(f -> f.getFileName().toString().contains(PART_MARKER)).toList()) {
                FileTime modified = Files.getLastModifiedTime(p);
                if (modified.toInstant().isBefore(cutoff) && Files.deleteIfExists(p)) {
                    LOG.info("Removed interrupted upload {}", p);
                    removed++;
                }
            }
        }
        return removed;
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Some file systems cannot open directories; the rename itself is still atomic.
            LOG.debug("Cannot fsync directory {}: {}", dir, e.getMessage());
        }
    }

    private static final class FileUpload extends ObjectUpload {
        private final FileChannel channel;
        private final OutputStream out;
        private final Path temp;
        private final Path target;
        private final boolean replace;
        private boolean committed;
        private boolean aborted;
        private long written;

        FileUpload(FileChannel channel, Path temp, Path target, boolean replace) {
            this.replace = replace;
            this.channel = channel;
            this.out = Channels.newOutputStream(channel);
            this.temp = temp;
            this.target = target;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            written++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            // Channels.newOutputStream writes the whole range.
            ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
            while (buffer.hasRemaining()) {
                written += channel.write(buffer);
            }
        }

        @Override
        public void commit() throws IOException {
            if (aborted) {
                throw new IOException("upload to " + target + " was aborted");
            }
            try {
                channel.force(true);
                channel.close();
                if (!replace && Files.exists(target)) {
                    throw new FileAlreadyExistsException(target.toString());
                }
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("file system of " + target + " cannot rename atomically", e);
                }
                fsyncDirectory(target.getParent());
                committed = true;
                readBack();
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
        }

        /** The renamed file must hold every byte written; otherwise it is removed and the commit fails. */
        private void readBack() throws IOException {
            long size = Files.size(target);
            if (size != written) {
                Files.deleteIfExists(target);
                throw new IOException("read-back of " + target + " failed: the file holds " + size + " bytes, " + written
                        + " were written (the file system lost or added data)");
            }
        }

        @Override
        public void abort() {
            if (committed || aborted) {
                return;
            }
            aborted = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // the temp file is removed below either way
            }
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                LOG.warn("Cannot remove partial upload {}: {}; the sweep will retry", temp, e.getMessage());
            }
        }

        @Override
        public void close() {
            if (!committed) {
                abort();
            }
        }
    }
}
