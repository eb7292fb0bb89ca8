package dev.backstop.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Extracts a tar into an empty directory, refusing any entry that would land outside it: absolute
 * names, {@code ..} segments, symlinks whose target resolves outside, and links through an
 * extracted symlink. Restores modes and modification times (directories last, so writing their
 * contents does not reset them).
 */
public final class TarExtractor {
    private TarExtractor() {}

    /** The names of the non-directory entries of a tar (files, links), normalized, without extracting. */
    public static java.util.SortedSet<String> entryNames(InputStream tarStream) throws IOException {
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        TarArchiveInputStream tar = new TarArchiveInputStream(tarStream, "UTF-8");
        for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
            if (!entry.isDirectory()) {
                names.add(Path.of(entry.getName()).normalize().toString());
            }
        }
        return names;
    }

    /** Returns the number of entries extracted; throws on the first unsafe entry. */
    public static int extract(InputStream tarStream, Path into) throws IOException {
        Path root = into.toAbsolutePath().normalize();
        Files.createDirectories(root);
        record DirectoryTimes(Path dir, FileTime mtime, int mode) {}
        List<DirectoryTimes> directories = new ArrayList<>();
        int count = 0;
        TarArchiveInputStream tar = new TarArchiveInputStream(tarStream, "UTF-8");
        byte[] buffer = new byte[1 << 20]; // large writes: a restore of big files is a few syscalls a MiB, not 128
        for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
            Path target = safeTarget(root, entry.getName());
            Path parent = target.getParent();
            ensureNoSymlinkOnPath(root, parent);
            Files.createDirectories(parent);
            if (entry.isDirectory()) {
                Files.createDirectories(target);
                directories.add(new DirectoryTimes(target, entry.getLastModifiedTime(), entry.getMode()));
            } else if (entry.isSymbolicLink()) {
                Path link = Path.of(entry.getLinkName());
                Path resolved = (link.isAbsolute() ? link : parent.resolve(link)).normalize();
                if (link.isAbsolute() || !resolved.startsWith(root)) {
                    throw new UnsafeEntryException("symlink " + entry.getName() + " -> " + entry.getLinkName() + " points outside the target");
                }
                Files.createSymbolicLink(target, link);
            } else if (entry.isLink()) {
                Path linked = safeTarget(root, entry.getLinkName());
                Files.createLink(target, linked);
            } else if (entry.isFile()) {
                try (java.io.OutputStream out = Files.newOutputStream(target, java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    for (int n; (n = tar.read(buffer)) > 0; ) {
                        out.write(buffer, 0, n);
                    }
                }
                applyMode(target, entry.getMode());
                Files.setLastModifiedTime(target, entry.getLastModifiedTime());
            } else {
                continue; // devices, FIFOs: never written by Backstop's snapshots
            }
            count++;
        }
        for (int i = directories.size() - 1; i >= 0; i--) {
            DirectoryTimes d = directories.get(i);
            applyMode(d.dir(), d.mode());
            Files.setLastModifiedTime(d.dir(), d.mtime());
        }
        return count;
    }

    static Path safeTarget(Path root, String name) throws UnsafeEntryException {
        if (name.startsWith("/") || name.contains("\\0")) {
            throw new UnsafeEntryException("entry " + name + " has an absolute name");
        }
        for (String segment : name.split("/")) {
            if (segment.equals("..")) {
                throw new UnsafeEntryException("entry " + name + " climbs out of the target with '..'");
            }
        }
        Path target = root.resolve(name).normalize();
        if (!target.startsWith(root) || target.equals(root)) {
            throw new UnsafeEntryException("entry " + name + " resolves outside the target");
        }
        return target;
    }

    /** An entry must not be written through a symlink an earlier entry created. */
    private static void ensureNoSymlinkOnPath(Path root, Path dir) throws UnsafeEntryException {
        for (Path p = dir; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                throw new UnsafeEntryException("entry below " + root.relativize(p) + " would be written through a symlink");
            }
        }
    }

    private static void applyMode(Path path, int mode) throws IOException {
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                permissions.add(order[bit]);
            }
        }
        try {
            Files.setPosixFilePermissions(path, permissions);
        } catch (UnsupportedOperationException notPosix) {
            // keep the default mode on file systems without POSIX permissions
        }
    }

    /** A tar entry that would write outside the restore target. */
    public static final class UnsafeEntryException extends IOException {
        private static final long serialVersionUID = 1L;

        UnsafeEntryException(String message) {
            super("refused: " + message);
        }
    }

}
