package dev.backstop.source.pgcluster;

import dev.backstop.source.ProcessOutput;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import dev.backstop.source.StderrTail;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A base backup: {@code pg_basebackup -D - -Ft -X fetch -c fast --manifest-checksums=SHA256}
 * streams one tar of the data directory to stdout, with the WAL from the backup's start to its end
 * in {@code pg_wal/} and the backup manifest as its last member, so the snapshot restores on its
 * own. The server must have no tablespaces outside the data directory (pg_basebackup cannot write
 * them to one stream).
 */
final class BaseBackupSource implements SnapshotSource {
    private final ClusterSourceFactory config;
    private final PgTools tools;

    BaseBackupSource(ClusterSourceFactory config, PgTools tools) {
        this.config = config;
        this.tools = tools;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return config.type();
    }

    @Override
    public String extension() {
        return "tar";
    }

    @Override
    public Map<String, String> toolVersions() {
        return Map.of("pg_basebackup", tools.version("pg_basebackup"));
    }

    List<String> command() {
        return List.of(tools.tool("pg_basebackup"), "--host=" + config.host(), "--port=" + config.port(),
                "--username=" + config.user(), "--no-password", "--pgdata=-", "--format=tar", "--wal-method=fetch",
                "--checkpoint=fast", "--manifest-checksums=SHA256", "--verbose");
    }

    @Override
    public SourceReport writeTo(OutputStream out) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command());
        builder.environment().remove("PGPASSWORD");
        builder.environment().putAll(config.clientEnvironment());
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IOException("cannot start " + tools.tool("pg_basebackup") + " (sources[" + config.name() + "].binDirectory): "
                    + e.getMessage(), e);
        }
        StderrTail stderr = new StderrTail(process.getErrorStream(), "pg_basebackup-stderr");
        stderr.start();
        try (InputStream tar = process.getInputStream()) {
            ProcessOutput.copy(tar, out, "pg_basebackup-stdout");
            int exit = process.waitFor();
            stderr.join(5_000);
            if (exit != 0) {
                throw new IOException("pg_basebackup exited with status " + exit + ": " + stderr.text());
            }
            return SourceReport.CLEAN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running pg_basebackup", e);
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly(); // storage failed: do not leave a backup running on the server
            }
        }
    }

    /**
     * Connects as the replication role the way pg_basebackup does (a physical replication
     * connection, matched by pg_hba.conf's {@code replication} lines) and asks IDENTIFY_SYSTEM.
     */
    @Override
    public void checkReachable() throws Exception {
        try (Connection c = replicationConnection(config); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("IDENTIFY_SYSTEM")) {
            r.next();
            int major = c.getMetaData().getDatabaseMajorVersion();
            if (major < 15) {
                throw new IllegalStateException("sources[" + config.name() + "]: PostgreSQL " + major
                        + " is not supported by postgres-cluster (15 or newer)");
            }
        }
    }

    static Connection replicationConnection(ClusterSourceFactory config) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", config.user());
        if (config.password() != null) {
            props.setProperty("password", config.password());
        }
        props.setProperty("replication", "true");
        props.setProperty("preferQueryMode", "simple");
        props.setProperty("assumeMinServerVersion", "15");
        props.setProperty("connectTimeout", "10");
        props.setProperty("ApplicationName", "backstop");
        return DriverManager.getConnection("jdbc:postgresql://" + config.host() + ":" + config.port() + "/", props);
    }
}
