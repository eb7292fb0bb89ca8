package dev.backstop.plugin;

import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceReport;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.SourceSettings;
import dev.backstop.source.TargetChecks;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * {@code type: lines}, a source type that exists only in the tests: a text file of lines. It is the
 * proof that a new type is one sub-package and one META-INF/services line: snapshots, restores and
 * drills of it go through the public interfaces with no change to core.
 */
@JsonTypeName("lines")
public final class LinesSourceFactory extends SourceSettings {
    private final Path path;
    private final Boolean endless;

    /** Only its own keys: the shared ones (name, target, schedule, ...) come from {@link SourceSettings}. */
    @com.fasterxml.jackson.annotation.JsonCreator
    public LinesSourceFactory(@com.fasterxml.jackson.annotation.JsonProperty("path") Path path,
            @com.fasterxml.jackson.annotation.JsonProperty("endless") Boolean endless) {
        this.path = path;
        this.endless = endless;
    }

    /**
     * With {@code endless: true} a snapshot writes zeros after the file until it is stopped: they
     * compress to next to nothing, so storage stays small however long it runs.
     */
    private static final byte[] BLOCK = new byte[1 << 18];

    @Override
    public String type() {
        return "lines";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new SnapshotSource() {
            @Override
            public String name() {
                return LinesSourceFactory.this.name();
            }

            @Override
            public String type() {
                return "lines";
            }

            @Override
            public String extension() {
                return "txt";
            }

            @Override
            public Map<String, String> toolVersions() {
                return Map.of("lines", "1");
            }

            @Override
            public SourceReport writeTo(OutputStream out) throws IOException {
                Files.copy(path, out);
                while (Boolean.TRUE.equals(endless)) {
                    // Blocks larger than the pipeline's buffer reach its stop check on every write,
                    // which is how an abort or cancel ends this loop.
                    out.write(BLOCK);
                }
                return SourceReport.CLEAN;
            }

            @Override
            public void checkReachable() throws IOException {
                if (!Files.isReadable(path)) {
                    throw new IOException(path + " is not readable");
                }
            }
        };
    }

    @Override
    public SourceRestorer restorer(SourceEnvironment environment) {
        return new SourceRestorer() {
            @Override
            public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced) {
                TargetChecks.onlyKey(target, "path");
                Path p = TargetChecks.absolutePath(target, "path", "lines");
                if (replace != Files.exists(p)) {
                    throw replace ? Refused.invalid(p + " does not exist to replace") : Refused.conflict(p + " exists");
                }
                TargetChecks.parentExists(p);
                return new Plan("lines:" + p, target, replace, force, dropReplaced, List.of());
            }

            @Override
            public Fresh open(Plan plan, String restoreId, LongConsumer progress) {
                Path live = Path.of(plan.target().get("path"));
                Path fresh = live.resolveSibling("." + live.getFileName() + ".restore-" + restoreId);
                return new Fresh() {
                    @Override
                    public void write(InputStream raw) throws IOException {
                        Files.copy(new dev.backstop.source.CountingInputStream(raw, progress), fresh);
                    }

                    @Override
                    public String commit() throws IOException {
                        Files.move(fresh, live, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                        return "wrote " + Files.readAllLines(live).size() + " lines to " + live;
                    }

                    @Override
                    public void discard() {
                        fresh.toFile().delete();
                    }
                };
            }

            @Override
            public void discardLeftovers(Map<String, String> target, String restoreId) {
                Path live = Path.of(target.get("path"));
                live.resolveSibling("." + live.getFileName() + ".restore-" + restoreId).toFile().delete();
            }

            @Override
            public Drill drill(String scratchName, Path staging) {
                Path scratch = staging.resolve(scratchName + ".txt");
                return new Drill() {
                    @Override
                    public Map<String, String> scratchTarget() {
                        return Map.of("path", scratch.toString());
                    }

                    @Override
                    public String probe(String query) throws IOException {
                        long lines = Files.readAllLines(scratch).stream().filter(l -> l.contains(query)).count();
                        if (lines == 0) {
                            throw new IllegalStateException("no line contains '" + query + "'");
                        }
                        return lines + " lines contain '" + query + "'";
                    }

                    @Override
                    public void remove() {
                        scratch.toFile().delete();
                    }
                };
            }
        };
    }
}
