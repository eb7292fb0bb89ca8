package dev.backstop.source.h2;

import dev.backstop.source.CountingInputStream;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceRestorer;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;
import org.h2.tools.RunScript;

/**
 * H2 restores: the script streams statement by statement ({@link RunScript}) into a fresh database
 * beside the target ({@code <name>_restore_<id>}), which is then closed. Commit of a new database
 * renames the file to the target's name; a replace hard-links the live file to
 * {@code <name>_replaced_<id>.mv.db} and renames the fresh file over the live name in one
 * {@code rename(2)}. Whether a database is open is read from the kernel's lock table, never by
 * opening the file (see {@link H2FileLocks}).
 */
final class H2Restorer implements SourceRestorer {
    private final String name;
    private final SourceEnvironment environment;

    H2Restorer(String name, SourceEnvironment environment) {
        this.name = name;
        this.environment = environment;
    }

    static String file(String url) {
        String path = url.substring("jdbc:h2:".length());
        if (path.startsWith("file:")) {
            path = path.substring("file:".length());
        }
        return path + ".mv.db";
    }

    @Override
    public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced) {
        dev.backstop.source.TargetChecks.onlyKey(target, "url");
        String url = target.get("url");
        if (url == null || !url.matches("jdbc:h2:(file:)?[^;:]+")) {
            throw Refused.invalid("target.url is required: a file database URL such as jdbc:h2:/var/lib/app/restored (no options)");
        }
        Path file = Path.of(file(url));
        if (!file.isAbsolute()) {
            throw Refused.invalid("target.url " + url + " is a relative path; give the absolute one (it would resolve to "
                    + file.toAbsolutePath().normalize() + ")");
        }
        List<String> busy = new ArrayList<>();
        if (replace) {
            if (!Files.isRegularFile(file)) {
                throw Refused.invalid("target.url " + url + " is not an existing H2 database to replace (mode new restores into a new one)");
            }
            openBy(url, file.normalize()).ifPresent(busy::add);
        } else if (Files.exists(file)) {
            throw Refused.conflict("target.url " + url + " names an existing database; mode new restores into a new one");
        }
        dev.backstop.source.TargetChecks.parentExists(file.normalize());
        return new Plan("h2:" + url, target, replace, force, dropReplaced, busy);
    }

    private static Optional<String> openBy(String url, Path file) {
        try {
            return H2FileLocks.holder(file).map(holder -> "the H2 database " + url + " is open (its file is locked by " + holder
                    + "): stop the application using it, then restore again; nothing was swapped");
        } catch (IOException e) {
            return Optional.of(e.getMessage());
        }
    }

    @Override
    public Fresh open(Plan plan, String restoreId, LongConsumer progress) {
        String url = plan.target().get("url");
        Path live = Path.of(file(url)).normalize();
        String base = live.getFileName().toString().replace(".mv.db", "");
        String suffix = restoreId.substring(restoreId.length() - 8).toLowerCase(Locale.ROOT);
        Path freshBase = freshBase(live, restoreId);
        Path fresh = Path.of(freshBase + ".mv.db");
        Path trace = Path.of(freshBase + ".trace.db");
        Path old = live.resolveSibling(base + "_replaced_" + suffix + ".mv.db");
        return new Fresh() {
            @Override
            public void write(InputStream raw) throws Exception {
                try (Connection c = DriverManager.getConnection("jdbc:h2:" + freshBase + ";IFEXISTS=FALSE", "sa", "");
                        Statement s = c.createStatement()) {
                    RunScript.execute(c, new InputStreamReader(new CountingInputStream(raw, progress), StandardCharsets.UTF_8));
                    s.execute("SHUTDOWN");
                }
            }

            @Override
            public String commit() throws IOException {
                if (!plan.replace()) {
                    Files.move(fresh, live, StandardCopyOption.ATOMIC_MOVE);
                    Files.deleteIfExists(trace);
                    return "restored into new H2 database " + url + " (user sa, empty password; change it)";
                }
                Optional<String> open = openBy(url, live); // again: the script may have taken a while
                if (open.isPresent()) {
                    throw new IOException(open.get());
                }
                Files.createLink(old, live);
                try {
                    Files.move(fresh, live, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    Files.deleteIfExists(old); // the live file was never replaced
                    throw e;
                }
                Files.deleteIfExists(trace);
                if (plan.dropReplaced()) {
                    Files.deleteIfExists(old);
                    return "replaced H2 database " + url + " (the previous one was deleted as asked)";
                }
                return "replaced H2 database " + url + "; the previous one is kept as " + old + " (delete it when no longer needed)";
            }

            @Override
            public void discard() {
                try {
                    Files.deleteIfExists(fresh);
                    Files.deleteIfExists(trace);
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(H2Restorer.class).warn("Cannot remove {}: {}", fresh, e.getMessage());
                }
            }
        };
    }

    private static Path freshBase(Path live, String restoreId) {
        String base = live.getFileName().toString().replace(".mv.db", "");
        return live.resolveSibling(base + "_restore_" + restoreId.substring(restoreId.length() - 8).toLowerCase(Locale.ROOT));
    }

    @Override
    public void discardLeftovers(Map<String, String> target, String restoreId) throws IOException {
        if (target.get("url") != null && target.get("url").startsWith("jdbc:h2:")) {
            Path freshBase = freshBase(Path.of(file(target.get("url"))).normalize(), restoreId);
            Files.deleteIfExists(Path.of(freshBase + ".mv.db"));
            Files.deleteIfExists(Path.of(freshBase + ".trace.db"));
        }
    }

    @Override
    public Drill drill(String scratchName, Path staging) {
        Path scratch = staging.resolve(scratchName);
        return new Drill() {
            @Override
            public Map<String, String> scratchTarget() {
                return Map.of("url", "jdbc:h2:" + scratch);
            }

            @Override
            public String probe(String query) throws Exception {
                try (Connection c = environment.connections().open(name,
                        () -> DriverManager.getConnection("jdbc:h2:" + scratch + ";IFEXISTS=TRUE", "sa", ""))) {
                    return dev.backstop.source.ProbeQuery.run(c, query);
                }
            }

            @Override
            public void remove() {
                try {
                    Files.deleteIfExists(Path.of(scratch + ".mv.db"));
                    Files.deleteIfExists(Path.of(scratch + ".trace.db"));
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(H2Restorer.class).warn("Cannot remove drill copy {}: {}", scratch, e.getMessage());
                }
            }
        };
    }
}
