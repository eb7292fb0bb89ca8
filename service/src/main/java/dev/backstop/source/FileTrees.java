package dev.backstop.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing what a restore or drill wrote to disk. */
public final class FileTrees {
    private FileTrees() {}

    /**
     * Deletes a file or directory tree (symlinks themselves, never what they point to); a missing root
     * is fine. A tree that changes while it is walked fails with an {@link IOException} (never an
     * unchecked one that would escape a caller's clean-up).
     */
    public static void delete(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
