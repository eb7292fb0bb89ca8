package dev.backstop.source.sqlite;

import dev.backstop.source.CountingInputStream;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.TargetChecks;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * SQLite restores: the database file streams into a temporary file beside the target
 * ({@code .<name>.restore-<id>}), fsynced; commit renames it over the target in one {@code rename(2)},
 * so readers see the old or the new database, never a mix.
 */
final class SqliteRestorer implements SourceRestorer {
    private final SourceEnvironment environment;
    private final String name;

    SqliteRestorer(String name, SourceEnvironment environment) {
        this.name = name;
        this.environment = environment;
    }

    @Override
    public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced) {
        TargetChecks.onlyKey(target, "path");
        Path p = TargetChecks.absolutePath(target, "path", "sqlite");
        if (!replace && Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw Refused.conflict("target.path " + p + " exists; mode new restores into a file that does not exist");
        }
        if (replace && !Files.isRegularFile(p)) {
            throw Refused.invalid("target.path " + p + " is not an existing file to replace");
        }
        TargetChecks.parentExists(p);
        return new Plan("sqlite:" + p, target, replace, force, dropReplaced, List.of());
    }

    @Override
    public Fresh open(Plan plan, String restoreId, LongConsumer progress) {
        Path path = Path.of(plan.target().get("path")).normalize();
        Path fresh = fresh(path, restoreId);
        return new Fresh() {
            @Override
            public void write(InputStream raw) throws IOException {
                Files.copy(new CountingInputStream(raw, progress), fresh, StandardCopyOption.REPLACE_EXISTING);
                try (FileChannel channel = FileChannel.open(fresh, StandardOpenOption.WRITE)) {
                    channel.force(true);
                }
            }

            @Override
            public String commit() throws IOException {
                if (!plan.replace()) {
                    Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                    return "restored " + Files.size(path) + " bytes into new file " + path;
                }
                Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return "replaced " + path + " (" + Files.size(path) + " bytes) in one atomic rename";
            }

            @Override
            public void discard() {
                try {
                    Files.deleteIfExists(fresh);
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(SqliteRestorer.class).warn("Cannot remove {}: {}", fresh, e.getMessage());
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
            Files.deleteIfExists(fresh(Path.of(target.get("path")).normalize(), restoreId));
        }
    }

    @Override
    public Drill drill(String scratchName, Path staging) {
        Path scratch = staging.resolve(scratchName + ".sqlite");
        return new Drill() {
            @Override
            public Map<String, String> scratchTarget() {
                return Map.of("path", scratch.toString());
            }

            @Override
            public String probe(String query) throws Exception {
                try (Connection c = environment.connections().open(name, () -> DriverManager.getConnection("jdbc:sqlite:" + scratch))) {
                    return dev.backstop.source.ProbeQuery.run(c, query);
                }
            }

            @Override
            public void remove() {
                try {
                    Files.deleteIfExists(scratch);
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(SqliteRestorer.class).warn("Cannot remove drill copy {}: {}", scratch,
                            e.getMessage());
                }
            }
        };
    }
}
