package dev.backstop.source.directory;

import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Streams a directory as a POSIX (pax) tar: regular files, directories and symlinks (not followed),
 * with modes, mtimes and owners. A file that changes or vanishes while being read is recorded (or
 * fails the snapshot when {@code failOnChange}); the archive stays well-formed either way.
 */
public final class DirectorySource implements SnapshotSource {
    private static final int COPY_BUFFER = 1 << 16;
    /** Files from this size on get chunks of their own (and are reused unread when unchanged). */
    static final long FRAMED = 64 << 10;

    private final DirectorySourceFactory config;
    private final Path root;
    private final List<PathMatcher> include;
    private final List<PathMatcher> exclude;

    DirectorySource(DirectorySourceFactory config) {
        this.config = config;
        this.root = config.path().toAbsolutePath().normalize();
        this.include = config.include().stream().map(DirectorySource::matcher).toList();
        this.exclude = config.exclude().stream().map(DirectorySource::matcher).toList();
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return "directory";
    }

    @Override
    public String extension() {
        return "tar";
    }

    @Override
    public Map<String, String> toolVersions() {
        return Map.of("tar", "pax (commons-compress)");
    }

    @Override
    public void checkReachable() throws IOException {
        if (!Files.exists(root) && config.createIfMissing()) {
            return; // created when the service starts (check, which changes nothing, leaves it missing)
        }
        if (!Files.exists(root)) {
            throw new NoSuchFileException(root.toString(), null, "sources[" + config.name() + "].path does not exist"
                    + " (create it, or set createIfMissing: true)");
        }
        if (!Files.isDirectory(root)) {
            throw new NoSuchFileException(root.toString(), null, "sources[" + config.name() + "].path is not a directory");
        }
        if (!Files.isReadable(root)) {
            throw new IOException(root + " is not readable by the service user");
        }
    }

    @Override
    public SourceReport writeTo(OutputStream out) throws IOException {
        return writeTo(out, null);
    }

    /**
     * With {@code files} (a chunked snapshot), each file of {@link #FRAMED} bytes or more is chunked
     * on its own, its tar header included, and one unchanged since the parent snapshot (size, mtime,
     * ctime, inode) is not read: its entry is named from the parent's chunks ({@code
     * reuseUnchanged: false} reads every file). Smaller files stay in the stream's content-defined
     * chunks (and are read each time). The tar is written in 512-byte blocks so that an entry is in
     * the stream, padding included, when it is closed.
     */
    @Override
    public SourceReport writeTo(OutputStream out, dev.backstop.source.FileChunks files) throws IOException {
        checkReachable();
        List<String> changed = new ArrayList<>();
        List<String> vanished = new ArrayList<>();
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out, 512, "UTF-8");
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (!dir.equals(root)) {
                    String name = relative(dir);
                    if (isExcluded(dir)) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    if (matchesInclude(dir)) {
                        TarArchiveEntry entry = new TarArchiveEntry(name + "/");
                        describe(entry, dir, attrs);
                        tar.putArchiveEntry(entry);
                        tar.closeArchiveEntry();
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (isExcluded(file) || !matchesInclude(file)) {
                    return FileVisitResult.CONTINUE;
                }
                String name = relative(file);
                if (attrs.isSymbolicLink()) {
                    TarArchiveEntry entry = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
                    entry.setLinkName(Files.readSymbolicLink(file).toString());
                    describe(entry, file, attrs);
                    tar.putArchiveEntry(entry);
                    tar.closeArchiveEntry();
                } else if (attrs.isRegularFile()) {
                    copyFile(tar, files, file, name, attrs, changed, vanished);
                }
                // Sockets, FIFOs and devices are not data: skipped.
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    vanished.add(relative(file));
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
        tar.finish();
        if (config.failOnChange() && (!changed.isEmpty() || !vanished.isEmpty())) {
            throw new IOException(changed.size() + " files changed and " + vanished.size()
                    + " vanished while being read (failOnChange is set): " + String.join(", ", first(changed, vanished)));
        }
        return new SourceReport(changed, vanished);
    }

    private void copyFile(TarArchiveOutputStream tar, dev.backstop.source.FileChunks files, Path file, String name,
            BasicFileAttributes attrs, List<String> changed, List<String> vanished) throws IOException {
        // A file large enough is framed: its chunks are its own (header, content, padding), named again
        // next time when its identity has not changed. Smaller files stay in the stream's own chunks.
        boolean framed = files != null && attrs.size() >= FRAMED;
        dev.backstop.source.FileChunks.Identity identity = framed ? identity(file, attrs) : null;
        if (framed && config.reuseUnchanged() && files.reuse(name, identity)) {
            // The parent's chunks hold the whole entry (header, content, padding: whole 512-byte
            // records), so the tar stream goes on after it as if it had been written: nothing is read.
            return;
        }
        InputStream in;
        try {
            in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            vanished.add(name);
            return;
        }
        try (in) {
            if (framed) {
                files.startFile();
            }
            long size = attrs.size();
            TarArchiveEntry entry = new TarArchiveEntry(name);
            describe(entry, file, attrs);
            entry.setSize(size);
            tar.putArchiveEntry(entry);
            writeContent(tar, in, file, name, attrs, changed, framed ? files : null, identity);
        }
    }

    private void writeContent(TarArchiveOutputStream tar, InputStream in, Path file, String name, BasicFileAttributes attrs,
            List<String> changed, dev.backstop.source.FileChunks files, dev.backstop.source.FileChunks.Identity identity)
            throws IOException {
        {
            long size = attrs.size();
            // Exactly `size` bytes go into the entry whatever the file does meanwhile: a tar header
            // cannot be rewritten once streamed.
            byte[] buffer = new byte[COPY_BUFFER];
            long remaining = size;
            boolean shrank = false;
            while (remaining > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, remaining));
                if (n < 0) {
                    shrank = true;
                    java.util.Arrays.fill(buffer, (byte) 0);
                    while (remaining > 0) {
                        int pad = (int) Math.min(buffer.length, remaining);
                        tar.write(buffer, 0, pad);
                        remaining -= pad;
                    }
                    break;
                }
                tar.write(buffer, 0, n);
                remaining -= n;
            }
            boolean grew = in.read() >= 0;
            tar.closeArchiveEntry();
            boolean modified = shrank || grew || modifiedSince(file, attrs);
            if (modified) {
                changed.add(name);
            }
            if (files != null) {
                // A file that changed while read is not offered for reuse: the next snapshot reads it again.
                files.endFile(name, modified ? new dev.backstop.source.FileChunks.Identity(-1, 0, 0, 0) : identity);
            }
        }
    }

    private static dev.backstop.source.FileChunks.Identity identity(Path file, BasicFileAttributes attrs) {
        try {
            Map<String, Object> unix = Files.readAttributes(file, "unix:ctime,ino", LinkOption.NOFOLLOW_LINKS);
            return new dev.backstop.source.FileChunks.Identity(attrs.size(),
                    attrs.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS),
                    ((java.nio.file.attribute.FileTime) unix.get("ctime")).to(java.util.concurrent.TimeUnit.NANOSECONDS),
                    ((Number) unix.get("ino")).longValue());
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return new dev.backstop.source.FileChunks.Identity(-1, 0, 0, 0); // not comparable: always read
        }
    }

    private static boolean modifiedSince(Path file, BasicFileAttributes before) {
        try {
            BasicFileAttributes after = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return !after.lastModifiedTime().equals(before.lastModifiedTime()) || after.size() != before.size();
        } catch (IOException gone) {
            return true;
        }
    }

    private static void describe(TarArchiveEntry entry, Path path, BasicFileAttributes attrs) throws IOException {
        entry.setModTime(attrs.lastModifiedTime());
        try {
            PosixFileAttributes posix = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            int type = entry.getMode() & ~07777;
            entry.setMode(type | mode(posix.permissions()));
            entry.setUserName(posix.owner().getName());
            entry.setGroupName(posix.group().getName());
            Object uid = Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            Object gid = Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS);
            entry.setUserId(((Number) uid).longValue());
            entry.setGroupId(((Number) gid).longValue());
        } catch (UnsupportedOperationException notPosix) {
            // Non-POSIX file system: keep commons-compress's default modes.
        }
    }

    private static int mode(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            mode |= switch (p) {
                case OWNER_READ -> 0400;
                case OWNER_WRITE -> 0200;
                case OWNER_EXECUTE -> 0100;
                case GROUP_READ -> 040;
                case GROUP_WRITE -> 020;
                case GROUP_EXECUTE -> 010;
                case OTHERS_READ -> 04;
                case OTHERS_WRITE -> 02;
                case OTHERS_EXECUTE -> 01;
            };
        }
        return mode;
    }

    /**
     * Globs as operators expect from tar and rsync: a pattern without '/' matches a name at any
     * depth ({@code *.tmp}); {@code **}{@code /x} also matches {@code x} at the top.
     */
    static PathMatcher matcher(String glob) {
        PathMatcher full = FileSystems.getDefault().getPathMatcher("glob:" + glob);
        if (!glob.contains("/")) {
            return path -> path.getFileName() != null && full.matches(path.getFileName());
        }
        if (glob.startsWith("**/")) {
            PathMatcher top = FileSystems.getDefault().getPathMatcher("glob:" + glob.substring(3));
            return path -> full.matches(path) || top.matches(path);
        }
        return full;
    }

    private String relative(Path path) {
        return root.relativize(path).toString().replace('\\', '/');
    }

    private boolean isExcluded(Path path) {
        Path rel = root.relativize(path);
        return exclude.stream().anyMatch(m -> m.matches(rel));
    }

    private boolean matchesInclude(Path path) {
        if (include.isEmpty()) {
            return true;
        }
        Path rel = root.relativize(path);
        return include.stream().anyMatch(m -> m.matches(rel));
    }

    private static List<String> first(List<String> changed, List<String> vanished) {
        List<String> all = new ArrayList<>(changed);
        all.addAll(vanished);
        return all.subList(0, Math.min(5, all.size()));
    }
}
