package dev.backstop.source.sqlite;

import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.sqlite.SQLiteConfig;

/**
 * {@code VACUUM INTO} a file in the staging directory, then streams that file and deletes it.
 * SQLite offers no consistent stream of a live database, so this source (alone) stages one copy of
 * the database on local disk; it is compacted, usually smaller than the live file.
 */
public final class SqliteSource implements SnapshotSource {
    private final SqliteSourceFactory config;
    private final Path staging;

    SqliteSource(SqliteSourceFactory config, Path staging) {
        this.config = config;
        this.staging = staging;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return "sqlite";
    }

    @Override
    public String extension() {
        return "sqlite";
    }

    @Override
    public Map<String, String> toolVersions() {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite::memory:"); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT sqlite_version()")) {
            r.next();
            return Map.of("sqlite", r.getString(1));
        } catch (SQLException e) {
            return Map.of("sqlite", "unknown");
        }
    }

    private Connection connect() throws SQLException, IOException {
        if (!Files.isRegularFile(config.path())) {
            throw new NoSuchFileException(config.path().toString(), null, "sources[" + config.name() + "].path does not exist");
        }
        // Read-only: the snapshot never writes to the live database.
        SQLiteConfig readOnly = new SQLiteConfig();
        readOnly.setReadOnly(true);
        readOnly.setBusyTimeout(30_000);
        return DriverManager.getConnection("jdbc:sqlite:" + config.path().toAbsolutePath(), readOnly.toProperties());
    }

    @Override
    public void checkReachable() throws Exception {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet r = s.executeQuery("PRAGMA schema_version")) {
            r.next();
        }
    }

    @Override
    public SourceReport writeTo(OutputStream out) throws IOException {
        Files.createDirectories(staging);
        Path copy = staging.resolve("sqlite-" + config.name() + "-" + UUID.randomUUID() + ".sqlite");
        try {
            try (Connection c = connect(); Statement s = c.createStatement()) {
                s.setQueryTimeout(0);
                s.execute("VACUUM INTO '" + copy.toAbsolutePath().toString().replace("'", "''") + "'");
            } catch (SQLException e) {
                throw new IOException("SQLite VACUUM INTO of " + config.path() + " failed: " + e.getMessage(), e);
            }
            Files.copy(copy, out);
            return SourceReport.CLEAN;
        } finally {
            // A VACUUM INTO that failed (SQLITE_FULL) leaves its rollback journal beside the copy.
            for (String suffix : new String[] {"", "-journal", "-wal", "-shm"}) {
                Files.deleteIfExists(copy.resolveSibling(copy.getFileName() + suffix));
            }
        }
    }
}
