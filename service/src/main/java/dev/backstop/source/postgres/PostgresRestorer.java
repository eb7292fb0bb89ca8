package dev.backstop.source.postgres;

import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.TargetChecks;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * PostgreSQL restores: the dump streams into {@code pg_restore} (reading its standard input) filling
 * a fresh database on the source's server ({@code <name>_restore_<id>}). Commit renames it to the
 * target name (new), or swaps the names with the live database in one transaction (replace: refused
 * while clients are connected unless {@code force}; the replaced one is kept renamed unless
 * {@code dropReplaced}). Discard drops the fresh database. Only this plug-in writes SQL against a
 * source server or runs {@code pg_restore}.
 */
final class PostgresRestorer implements SourceRestorer {
    /** Backstop's own short-lived connections carry this name and do not count as clients. */
    static final String APPLICATION_NAME = "backstop";

    private final PostgresSourceFactory pg;
    private final SourceEnvironment environment;
    /** pg_restore processes running now: ended when the service stops. */
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    private final PostgresTableRestore tables;

    PostgresRestorer(PostgresSourceFactory pg, SourceEnvironment environment) {
        this.pg = pg;
        this.environment = environment;
        this.tables = new PostgresTableRestore(pg, this);
    }

    @Override
    public Plan planTables(Map<String, String> target, List<String> names, PointInTime pointInTime) {
        if (pointInTime != null) {
            return SourceRestorer.super.planTables(target, names, pointInTime); // refused: no log to replay
        }
        return tables.plan(target, names);
    }

    Connection connect(String database) throws SQLException {
        return environment.connections().open(pg.name(), () -> {
            Properties props = new Properties();
            props.setProperty("user", pg.user());
            if (pg.password() != null) {
                props.setProperty("password", pg.password());
            }
            props.setProperty("ApplicationName", APPLICATION_NAME);
            return DriverManager.getConnection("jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + database, props);
        });
    }

    Connection maintenance() throws SQLException {
        return connect("postgres");
    }

    @Override
    public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced) {
        TargetChecks.onlyKey(target, "database");
        String database = target.get("database");
        if (database == null || !database.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw Refused.invalid("target.database is required: a new database name of lowercase letters, digits and '_'");
        }
        List<String> busy = new ArrayList<>();
        try (Connection c = maintenance()) {
            boolean exists = exists(c, database);
            if (!replace && exists) {
                throw Refused.conflict("database " + database + " already exists; mode new restores into a new database "
                        + "(mode replace swaps an existing one)");
            }
            if (replace && !exists) {
                throw Refused.invalid("database " + database + " does not exist; mode replace needs an existing database (use mode new)");
            }
            if (replace && !force) {
                int active = activeConnections(c, database);
                if (active > 0) {
                    busy.add("database " + database + " has " + active + " active connections; stop its clients or set "
                            + "\"force\": true to terminate them");
                }
            }
        } catch (SQLException e) {
            throw new java.io.UncheckedIOException(new IOException("cannot check the target database on " + pg.host() + ":" + pg.port()
                    + ": " + e.getMessage(), e));
        }
        return new Plan("postgres:" + pg.host() + ":" + pg.port() + "/" + database, target, replace, force, dropReplaced, busy);
    }

    @Override
    public Fresh open(Plan plan, String restoreId, LongConsumer progress) throws Exception {
        if (plan.tableLevel()) {
            return tables.open(plan, restoreId, progress);
        }
        String database = plan.target().get("database");
        String fresh = fresh(database, restoreId);
        String old = truncate(database, 40) + "_replaced_" + suffix(restoreId);
        try (Connection c = maintenance(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE \"" + fresh + "\"");
        }
        Path staged = environment.stagingDirectory().resolve("restore-" + restoreId + ".pgdump");
        return new Fresh() {
            private Parallel parallel = Parallel.NO;

            @Override
            public void write(InputStream raw) throws Exception {
                parallel = parallel();
                if (parallel.jobs() > 1) {
                    // Staged, and restored only once the whole object has verified (in commit).
                    stage(raw, staged, progress);
                } else {
                    pgRestore(fresh, raw, null, 1, progress);
                }
            }

            @Override
            public String commit() throws Exception {
                if (parallel.jobs() == 1) {
                    return swapIn("with pg_restore streaming from the verified object");
                }
                try {
                    pgRestore(fresh, null, staged, parallel.jobs(), progress);
                } finally {
                    java.nio.file.Files.deleteIfExists(staged);
                }
                return swapIn("with pg_restore -j " + parallel.jobs() + " from a staged file (" + parallel.why() + ")");
            }

            /** Gives the fresh database the target's name; {@code how} says how it was filled. */
            private String swapIn(String how) throws Exception {
                try (Connection c = maintenance()) {
                    if (!plan.replace()) {
                        try (Statement s = c.createStatement()) {
                            s.execute("ALTER DATABASE \"" + fresh + "\" RENAME TO \"" + database + "\"");
                        }
                        return "restored into new database " + database + " " + how;
                    }
                    int active = activeConnections(c, database);
                    if (active > 0 && !plan.force()) {
                        throw new IOException("database " + database + " gained " + active + " connections during the restore; "
                                + "nothing was swapped");
                    }
                    if (active > 0) {
                        try (PreparedStatement kill = c.prepareStatement("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                + "WHERE datname = ? AND pid <> pg_backend_pid()")) {
                            kill.setString(1, database);
                            kill.executeQuery().close();
                        }
                    }
                    c.setAutoCommit(false);
                    try (Statement s = c.createStatement()) {
                        s.execute("ALTER DATABASE \"" + database + "\" RENAME TO \"" + old + "\"");
                        s.execute("ALTER DATABASE \"" + fresh + "\" RENAME TO \"" + database + "\"");
                        c.commit();
                    } catch (SQLException e) {
                        c.rollback();
                        throw e;
                    } finally {
                        c.setAutoCommit(true);
                    }
                    if (plan.dropReplaced()) {
                        drop(c, old);
                        return "replaced database " + database + " " + how + " (the previous one was dropped as asked)";
                    }
                }
                return "replaced database " + database + " " + how + "; the previous one is kept as " + old
                        + " (drop it when no longer needed)";
            }

            @Override
            public void discard() {
                try {
                    java.nio.file.Files.deleteIfExists(staged);
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(PostgresRestorer.class).warn("Cannot remove the staged dump {}: {}", staged,
                            e.getMessage());
                }
                try (Connection c = maintenance()) {
                    drop(c, fresh);
                } catch (SQLException e) {
                    org.slf4j.LoggerFactory.getLogger(PostgresRestorer.class).warn("Cannot drop the fresh database {}: {}", fresh,
                            e.getMessage());
                }
            }
        };
    }

    @Override
    public String dryRun(Plan plan, InputStream raw) throws IOException {
        return plan.tableLevel() ? tables.dryRun(plan, raw) : SourceRestorer.super.dryRun(plan, raw);
    }

    /** Tables at least this large make {@code pg_restore -j} worth staging a file for. */
    static final long LARGE_TABLE = 32L << 20;

    /** How a restore runs: {@code jobs} pg_restore workers (1: streaming), and why. */
    record Parallel(int jobs, String why) {
        static final Parallel NO = new Parallel(1, "streaming");
    }

    /**
     * {@code pg_restore -j} pays off when the database has several large tables (their loads and
     * index builds run side by side) and the host has two or more cores; it needs the dump in a
     * seekable file, so the staging directory must hold it. Judged from the source database as it
     * is now. Otherwise the dump streams straight into one pg_restore, with no staged copy.
     */
    private Parallel parallel() {
        int cores = Runtime.getRuntime().availableProcessors();
        if (cores < 2) {
            return Parallel.NO;
        }
        try (Connection c = connect(pg.database());
                PreparedStatement q = c.prepareStatement("SELECT count(*), coalesce(sum(pg_total_relation_size(oid)), 0) "
                        + "FROM pg_class WHERE relkind = 'r' AND relnamespace NOT IN (SELECT oid FROM pg_namespace "
                        + "WHERE nspname IN ('pg_catalog', 'information_schema')) AND pg_relation_size(oid) >= ?")) {
            q.setLong(1, LARGE_TABLE);
            try (ResultSet r = q.executeQuery()) {
                r.next();
                int large = r.getInt(1);
                long bytes = r.getLong(2);
                if (large < 2) {
                    return Parallel.NO;
                }
                java.nio.file.Files.createDirectories(environment.stagingDirectory());
                long free = java.nio.file.Files.getFileStore(environment.stagingDirectory()).getUsableSpace();
                if (free < bytes + (1L << 30)) {
                    org.slf4j.LoggerFactory.getLogger(PostgresRestorer.class).info("Restore streams: staging {} has {} MiB free, "
                            + "a staged dump of {} needs up to {} MiB", environment.stagingDirectory(), free >> 20, pg.database(),
                            (bytes >> 20) + 1024);
                    return Parallel.NO;
                }
                // Up to two workers per core: loads and index builds also wait on I/O (measured on a 2-core
                // VM, eight tables: -j 2 20.6 s, -j 4 17.4 s, the stock pipe 27-29 s).
                int jobs = Math.min(4, Math.min(2 * cores, large));
                return new Parallel(jobs, large + " tables of " + (LARGE_TABLE >> 20) + " MiB or more in " + pg.database() + ", "
                        + cores + " cores");
            }
        } catch (SQLException | IOException e) {
            org.slf4j.LoggerFactory.getLogger(PostgresRestorer.class).info("Restore streams: cannot size the tables of {}: {}",
                    pg.database(), e.getMessage());
            return Parallel.NO;
        }
    }

    /** The decoded dump into a file of the staging directory; every chunk is also a progress point (a cancel stops it). */
    private static void stage(InputStream raw, Path staged, LongConsumer progress) throws IOException {
        try (OutputStream out = java.nio.file.Files.newOutputStream(staged)) {
            byte[] buffer = new byte[1 << 16];
            long done = 0;
            for (int n = raw.read(buffer); n >= 0; n = raw.read(buffer)) {
                out.write(buffer, 0, n);
                done += n;
                progress.accept(done);
            }
        } catch (IOException | RuntimeException e) {
            java.nio.file.Files.deleteIfExists(staged);
            throw e;
        }
    }

    /**
     * pg_restore into {@code database}: reading the dump from its standard input ({@code raw}; the
     * bytes written to it are the progress), or from {@code file} with {@code jobs} workers (polled
     * every second for a cancel).
     */
    void pgRestore(String database, InputStream raw, Path file, int jobs, LongConsumer progress) throws Exception {
        List<String> command = new ArrayList<>(List.of(pg.pgDump().replaceAll("pg_dump$", "pg_restore"), "--no-owner",
                "--exit-on-error", "--no-password", "--host=" + pg.host(), "--port=" + pg.port(), "--username=" + pg.user(),
                "--dbname=" + database));
        if (file != null) {
            command.add("--jobs=" + jobs);
            command.add(file.toString());
        }
        Process process = pg.processes().builder(command).redirectErrorStream(true).start();
        running.add(process);
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(process.getInputStream().readAllBytes());
            } catch (IOException e) {
                return "(output unreadable: " + e.getMessage() + ")";
            }
        });
        try {
            IOException writeFailure = null;
            try (OutputStream stdin = process.getOutputStream()) {
                if (raw != null) {
                    byte[] buffer = new byte[1 << 16];
                    long done = 0;
                    for (int n = raw.read(buffer); n >= 0; n = raw.read(buffer)) {
                        stdin.write(buffer, 0, n);
                        done += n;
                        progress.accept(done);
                    }
                } else {
                    stdin.close();
                    while (!process.waitFor(1, TimeUnit.SECONDS)) {
                        progress.accept(0);
                    }
                }
            } catch (IOException e) {
                writeFailure = e; // pg_restore stopped reading (it failed): its exit status says why
            } catch (RuntimeException stopped) {
                process.destroy(); // cancelled or the service is stopping
                throw stopped;
            }
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IOException("pg_restore did not finish 10 min after its input ended");
            }
            if (process.exitValue() != 0) {
                String text = output.get(30, TimeUnit.SECONDS);
                throw new IOException("pg_restore exited with status " + process.exitValue() + ": "
                        + text.substring(Math.max(0, text.length() - 4000)).trim().replace('\n', ' '));
            }
            if (writeFailure != null) {
                throw writeFailure;
            }
        } finally {
            running.remove(process);
            if (process.isAlive()) {
                process.destroy();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** On service stop: pg_restore processes still running are ended, so their restores fail and clean up. */
    @Override
    public void stop() {
        running.forEach(Process::destroy);
    }

    static boolean exists(Connection c, String database) throws SQLException {
        try (PreparedStatement exists = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            exists.setString(1, database);
            try (ResultSet r = exists.executeQuery()) {
                return r.next();
            }
        }
    }

    static int activeConnections(Connection c, String database) throws SQLException {
        try (PreparedStatement count = c.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid() "
                        + "AND application_name IS DISTINCT FROM '" + APPLICATION_NAME + "'")) {
            count.setString(1, database);
            try (ResultSet r = count.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    static void drop(Connection c, String database) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS \"" + database + "\" WITH (FORCE)");
        }
    }

    static String suffix(String restoreId) {
        return restoreId.substring(restoreId.length() - 8).toLowerCase(Locale.ROOT);
    }

    private static String fresh(String database, String restoreId) {
        return truncate(database, 40) + "_restore_" + suffix(restoreId);
    }

    @Override
    public void discardLeftovers(Map<String, String> target, String restoreId) throws SQLException {
        if (target.containsKey("schema")) {
            tables.discardLeftovers(target, restoreId);
            return;
        }
        String database = target.get("database");
        if (database != null && database.matches("[a-z_][a-z0-9_]{0,62}")) {
            try (Connection c = maintenance()) {
                drop(c, fresh(database, restoreId));
            }
        }
    }

    static String truncate(String name, int max) {
        return name.length() <= max ? name : name.substring(0, max);
    }

    @Override
    public Drill drill(String scratchName, Path staging) {
        return new Drill() {
            @Override
            public Map<String, String> scratchTarget() {
                return Map.of("database", scratchName);
            }

            @Override
            public String probe(String query) throws Exception {
                try (Connection c = connect(scratchName)) {
                    return dev.backstop.source.ProbeQuery.run(c, query);
                }
            }

            @Override
            public void remove() {
                try (Connection c = maintenance()) {
                    drop(c, scratchName);
                } catch (SQLException e) {
                    org.slf4j.LoggerFactory.getLogger(PostgresRestorer.class).warn("Cannot drop drill database {}: {}", scratchName,
                            e.getMessage());
                }
            }
        };
    }
}
