package dev.backstop.source.postgres;

import dev.backstop.source.ProcessOutput;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceReport;
import dev.backstop.source.StderrTail;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@code pg_dump -Fc -Z0} and streams its stdout. The password reaches pg_dump through the
 * PGPASSWORD environment variable (or PGPASSFILE), never its command line, which any local user
 * could read in the process list.
 */
public final class PostgresSource implements SnapshotSource {
    private static final Pattern VERSION = Pattern.compile("(\\d+)(?:\\.(\\d+))?");

    private final PostgresSourceFactory config;

    PostgresSource(PostgresSourceFactory config) {
        this.config = config;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return "postgres";
    }

    @Override
    public String extension() {
        return "dump";
    }

    @Override
    public Map<String, String> toolVersions() {
        try {
            return Map.of("pg_dump", pgDumpVersion());
        } catch (IOException e) {
            return Map.of("pg_dump", "unavailable: " + e.getMessage());
        }
    }

    /** {@code pg_dump --version}, e.g. "15.19". */
    String pgDumpVersion() throws IOException {
        Process process = start(List.of(config.pgDump(), "--version"));
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException(config.pgDump() + " --version failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        Matcher m = Pattern.compile("\\(PostgreSQL\\)\\s+(\\S+)").matcher(output);
        return m.find() ? m.group(1) : output;
    }

    /** The server's version, e.g. "15.20". */
    String serverVersion() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", config.user());
        if (config.password() != null) {
            props.setProperty("password", config.password());
        }
        props.setProperty("connectTimeout", "10");
        props.setProperty("ApplicationName", "backstop");
        String url = "jdbc:postgresql://" + config.host() + ":" + config.port() + "/" + config.database();
        try (Connection c = DriverManager.getConnection(url, props); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SHOW server_version")) {
            r.next();
            return r.getString(1).split(" ")[0];
        }
    }

    static int major(String version) {
        Matcher m = VERSION.matcher(version);
        if (!m.find()) {
            throw new IllegalArgumentException("cannot read a version from '" + version + "'");
        }
        return Integer.parseInt(m.group(1));
    }

    /** Fails when pg_dump is missing, or older than the server (it would refuse to dump it). */
    @Override
    public void checkReachable() throws Exception {
        String client;
        try {
            client = pgDumpVersion();
        } catch (IOException e) {
            throw new IOException("sources[" + config.name() + "].pgDump: cannot run '" + config.pgDump() + "': " + e.getMessage(), e);
        }
        String server = serverVersion();
        if (major(client) < major(server)) {
            throw new IllegalStateException("pg_dump " + client + " is older than the server (PostgreSQL " + server
                    + ") and cannot dump it: install postgresql-client-" + major(server)
                    + " and point sources[" + config.name() + "].pgDump at its pg_dump");
        }
    }

    /**
     * pg_dump and pg_restore are there and not older than the server, and pg_dump connects with the
     * source's settings (password or passfile as configured): a dump of no schema, to nowhere.
     */
    @Override
    public List<dev.backstop.source.ToolCheck> checkTools() {
        List<dev.backstop.source.ToolCheck> checks = new ArrayList<>();
        String server;
        try {
            server = serverVersion();
        } catch (SQLException e) {
            return List.of(dev.backstop.source.ToolCheck.failed("server", "cannot connect as " + config.user() + ": " + e.getMessage()));
        }
        for (String tool : List.of(config.pgDump(), config.pgDump().replaceAll("pg_dump$", "pg_restore"))) {
            String name = java.nio.file.Path.of(tool).getFileName().toString();
            try {
                String out = config.processes().run(List.of(tool, "--version"), 30);
                Matcher m = Pattern.compile("\\(PostgreSQL\\)\\s+(\\S+)").matcher(out);
                String version = m.find() ? m.group(1) : out.strip();
                checks.add(major(version) < major(server)
                        ? dev.backstop.source.ToolCheck.failed(name, name + " " + version + " is older than the server (PostgreSQL "
                                + server + "): install postgresql-client-" + major(server))
                        : dev.backstop.source.ToolCheck.ok(name, version + " (server " + server + ")"));
            } catch (IOException | IllegalArgumentException e) {
                checks.add(dev.backstop.source.ToolCheck.failed(name, "cannot run '" + tool + "': " + e.getMessage()));
            }
        }
        List<String> probe = new ArrayList<>(List.of(config.pgDump(), "--schema-only", "--no-password", "--host=" + config.host(),
                "--port=" + config.port(), "--username=" + config.user(), "--dbname=" + config.database(),
                "--exclude-schema=*", "--file=/dev/null"));
        try {
            config.processes().run(probe, 60);
            checks.add(dev.backstop.source.ToolCheck.ok("pg_dump", "connects to " + config.database() + " as " + config.user()));
        } catch (IOException e) {
            checks.add(dev.backstop.source.ToolCheck.failed("pg_dump", "cannot connect with sources[" + config.name() + "]'s settings: "
                    + e.getMessage()));
        }
        return checks;
    }

    List<String> command() {
        List<String> command = new ArrayList<>(List.of(config.pgDump(), "--format=custom", "--compress=0", "--no-password",
                "--host=" + config.host(), "--port=" + config.port(), "--username=" + config.user(), "--dbname=" + config.database()));
        config.schemas().forEach(s -> command.add("--schema=" + s));
        config.excludeSchemas().forEach(s -> command.add("--exclude-schema=" + s));
        config.tables().forEach(t -> command.add("--table=" + t));
        config.excludeTables().forEach(t -> command.add("--exclude-table=" + t));
        return command;
    }

    private Process start(List<String> command) throws IOException {
        return config.processes().start(command);
    }

    @Override
    public SourceReport writeTo(OutputStream out) throws IOException {
        Process process;
        try {
            process = start(command());
        } catch (IOException e) {
            throw new IOException("cannot start pg_dump ('" + config.pgDump() + "'): " + e.getMessage(), e);
        }
        StderrTail stderr = new StderrTail(process.getErrorStream(), "pg_dump-stderr");
        stderr.start();
        try (InputStream dump = process.getInputStream()) {
            ProcessOutput.copy(dump, out, "pg_dump-stdout");
            int exit = process.waitFor();
            stderr.join(5_000);
            if (exit != 0) {
                throw new IOException("pg_dump exited with status " + exit + ": " + stderr.text());
            }
            return SourceReport.CLEAN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running pg_dump", e);
        } finally {
            // Downstream failure (storage down, disk full): do not leave pg_dump holding a snapshot open.
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }
}
