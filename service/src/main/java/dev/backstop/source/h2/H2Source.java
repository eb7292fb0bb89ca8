package dev.backstop.source.h2;

import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.h2.engine.Constants;

/**
 * Streams {@code SCRIPT NOPASSWORDS} of an H2 database: a consistent, transactional SQL script of
 * schema and data (user password hashes left out), one statement per line.
 */
public final class H2Source implements SnapshotSource {
    private final H2SourceFactory config;

    H2Source(H2SourceFactory config) {
        this.config = config;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return "h2";
    }

    @Override
    public String extension() {
        return "sql";
    }

    @Override
    public Map<String, String> toolVersions() {
        return Map.of("h2", Constants.FULL_VERSION);
    }

    /** Never creates the database: a snapshot of a database that is not there is an error, not an empty script. */
    private Connection connect() throws SQLException {
        String url = config.url().toUpperCase(java.util.Locale.ROOT).contains("IFEXISTS") ? config.url()
                : config.url() + ";IFEXISTS=TRUE";
        try {
            return DriverManager.getConnection(url, config.user(), config.password() == null ? "" : config.password());
        } catch (SQLException e) {
            if (e.getErrorCode() == org.h2.api.ErrorCode.DATABASE_NOT_FOUND_WITH_IF_EXISTS_1) {
                throw new SQLException("sources[" + config.name() + "].url: the H2 database " + config.url()
                        + " does not exist", e.getSQLState(), e.getErrorCode(), e);
            }
            throw e;
        }
    }

    /**
     * A file database is checked without opening it: opening takes H2's file lock, so a probe every
     * health period would lock the application out of its own database (and make a replace of it
     * refuse at random). Server URLs ({@code tcp:}, {@code AUTO_SERVER}) are connected to.
     */
    @Override
    public void checkReachable() throws SQLException {
        String url = config.url();
        String path = url.substring("jdbc:h2:".length()).split(";", 2)[0];
        boolean file = !url.toUpperCase(java.util.Locale.ROOT).contains("AUTO_SERVER") && !path.startsWith("tcp:")
                && !path.startsWith("ssl:") && !path.startsWith("mem:");
        if (file) {
            java.nio.file.Path mv = java.nio.file.Path.of((path.startsWith("file:") ? path.substring(5) : path) + ".mv.db");
            if (!java.nio.file.Files.isReadable(mv)) {
                throw new SQLException("sources[" + config.name() + "].url: the H2 database " + url + " does not exist ("
                        + mv.toAbsolutePath().normalize() + ")");
            }
            return;
        }
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("SELECT 1");
        }
    }

    @Override
    public SourceReport writeTo(OutputStream out) throws IOException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.setFetchSize(1000);
            Writer writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
            try (ResultSet script = s.executeQuery("SCRIPT NOPASSWORDS")) {
                while (script.next()) {
                    writer.write(script.getString(1));
                    writer.write('\n');
                }
            }
            writer.flush();
            return SourceReport.CLEAN;
        } catch (SQLException e) {
            throw new IOException("H2 SCRIPT of " + config.url() + " failed: " + e.getMessage(), e);
        }
    }
}
