package dev.backstop.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
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

    /**
     * Returns the number of entries extracted; throws on the first unsafe entry. This thread reads
     * the tar; {@link TarWriteBehind} writes it, in order, on a thread of its own (bounded buffers).
     */
    public static int extract(InputStream tarStream, Path into) throws IOException {
        Path root = into.toAbsolutePath().normalize();
        Files.createDirectories(root);
        TarWriteBehind writer = new TarWriteBehind(root);
        try {
            TarArchiveInputStream tar = new TarArchiveInputStream(tarStream, "UTF-8");
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                writer.start(entry);
                if (TarWriteBehind.hasContent(entry)) {
                    while (true) {
                        byte[] buffer = writer.buffer();
                        int n = tar.readNBytes(buffer, 0, buffer.length);
                        if (n > 0) {
                            writer.data(buffer, n);
                        } else {
                            writer.unused(buffer);
                        }
                        if (n < buffer.length) {
                            break;
                        }
                    }
                    writer.endFile();
                }
            }
            return writer.finish();
        } catch (IOException | RuntimeException e) {
            writer.abort();
            throw e;
        }
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
    static void ensureNoSymlinkOnPath(Path root, Path dir) throws UnsafeEntryException {
        for (Path p = dir; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                throw new UnsafeEntryException("entry below " + root.relativize(p) + " would be written through a symlink");
            }
        }
    }

    static void applyMode(Path path, int mode) throws IOException {
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
