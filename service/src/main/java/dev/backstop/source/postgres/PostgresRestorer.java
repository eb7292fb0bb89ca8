package dev.backstop.source.postgres;

import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.TargetChecks;
import java.io.IOException;
import java.io.InputStream;
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
    /** How dumps go into databases: pg_restore streaming, or staged with -j. */
    private final PgRestore dumps;
    private final PostgresTableRestore tables;

    PostgresRestorer(PostgresSourceFactory pg, SourceEnvironment environment) {
        this.pg = pg;
        this.environment = environment;
        this.dumps = new PgRestore(pg, environment, this);
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
            private PgRestore.Parallel parallel = PgRestore.Parallel.NO;

            @Override
            public void write(InputStream raw) throws Exception {
                parallel = dumps.parallel();
                if (parallel.jobs() > 1) {
                    // Staged, and restored only once the whole object has verified (in commit).
                    PgRestore.stage(raw, staged, progress);
                } else {
                    dumps.pgRestore(fresh, raw, null, 1, progress);
                }
            }

            @Override
            public String commit() throws Exception {
                if (parallel.jobs() == 1) {
                    return swapIn("with pg_restore streaming from the verified object");
                }
                try {
                    dumps.pgRestore(fresh, null, staged, parallel.jobs(), progress);
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

    PgRestore dumps() {
        return dumps;
    }

    /** On service stop: pg_restore processes still running are ended, so their restores fail and clean up. */
    @Override
    public void stop() {
        dumps.stop();
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
