package dev.backstop.source.directory;

import dev.backstop.source.CountingInputStream;
import dev.backstop.source.FileTrees;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.TargetChecks;
import dev.backstop.source.TarExtractor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * Directory restores: the tar is extracted as it streams into a fresh sibling directory
 * ({@code .<name>.restore-<id>}); commit renames it into place (replace: the live directory is
 * renamed aside first, then deleted); discard deletes the sibling.
 */
final class DirectoryRestorer implements SourceRestorer {

    @Override
    public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced) {
        TargetChecks.onlyKey(target, "path");
        Path p = TargetChecks.absolutePath(target, "path", "directory");
        if (!replace && Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw Refused.conflict("target.path " + p + " exists; mode new restores into a path that does not exist "
                    + "(mode replace swaps an existing one)");
        }
        if (replace && !Files.isDirectory(p)) {
            throw Refused.invalid("target.path " + p + " is not an existing directory to replace");
        }
        TargetChecks.parentExists(p);
        return new Plan("directory:" + p, target, replace, force, dropReplaced, List.of());
    }

    @Override
    public Fresh open(Plan plan, String restoreId, LongConsumer progress) throws IOException {
        Path path = Path.of(plan.target().get("path")).normalize();
        Path fresh = fresh(path, restoreId);
        return new Fresh() {
            private int entries;

            @Override
            public void write(InputStream raw) throws IOException {
                entries = TarExtractor.extract(new CountingInputStream(raw, progress), fresh);
            }

            @Override
            public String commit() throws IOException {
                if (!plan.replace()) {
                    Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                    return "restored " + entries + " entries into " + path;
                }
                Path old = path.resolveSibling("." + path.getFileName() + ".replaced-" + restoreId);
                Files.move(path, old, StandardCopyOption.ATOMIC_MOVE);
                try {
                    Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.move(old, path, StandardCopyOption.ATOMIC_MOVE); // put the live data back
                    throw e;
                }
                FileTrees.delete(old);
                return "replaced " + path + " with " + entries + " entries";
            }

            @Override
            public void discard() {
                try {
                    FileTrees.delete(fresh);
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(DirectoryRestorer.class).warn("Cannot remove {}: {}", fresh, e.getMessage());
                }
            }
        };
    }

    private static Path fresh(Path path, String restoreId) {
        return path.resolveSibling("." + path.getFileName() + ".restore-" + restoreId);
    }

    @Override
    public void discardLeftovers(Map<String, String> target, String restoreId) throws IOException {
        if (target.get("path") != null) {
            FileTrees.delete(fresh(Path.of(target.get("path")).normalize(), restoreId));
        }
    }

    /** For a replace: which live files the real run would remove and which it would overwrite. */
    @Override
    public String dryRun(Plan plan, InputStream raw) throws IOException {
        if (!plan.replace()) {
            return SourceRestorer.super.dryRun(plan, raw);
        }
        Path live = Path.of(plan.target().get("path")).normalize();
        SortedSet<String> restored = TarExtractor.entryNames(raw);
        raw.transferTo(java.io.OutputStream.nullOutputStream()); // the tar's end padding, so all of it is verified
        List<String> removed = new ArrayList<>();
        List<String> overwritten = new ArrayList<>();
        try (Stream<Path> files = Files.walk(live)) {
            for (Path file : files.filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList()) {
                String name = live.relativize(file).toString();
                (restored.contains(name) ? overwritten : removed).add(name);
            }
        }
        return "; would remove " + removed.size() + " files " + sample(removed) + " and overwrite " + overwritten.size() + " "
                + sample(overwritten) + " in " + live;
    }

    private static String sample(List<String> names) {
        int shown = Math.min(names.size(), 50);
        return names.subList(0, shown) + (names.size() > shown ? " (and " + (names.size() - shown) + " more)" : "");
    }

    @Override
    public Drill drill(String scratchName, Path staging) {
        Path scratch = staging.resolve(scratchName);
        return new Drill() {
            @Override
            public Map<String, String> scratchTarget() {
                return Map.of("path", scratch.toString());
            }

            @Override
            public String probe(String query) throws IOException {
                try (Stream<Path> files = Files.walk(scratch)) {
                    return files.count() - 1 + " entries restored";
                }
            }

            @Override
            public void remove() {
                try {
                    FileTrees.delete(scratch);
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(DirectoryRestorer.class).warn("Cannot remove drill copy {}: {}", scratch,
                            e.getMessage());
                }
            }
        };
    }
}
