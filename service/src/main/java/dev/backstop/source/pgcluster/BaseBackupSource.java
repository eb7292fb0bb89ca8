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
 * A base backup: {@code pg_basebackup -D - -Ft -X fetch -c fast --manifest-checksums=CRC32C}
 * streams one tar of the data directory to stdout, with the WAL from the backup's start to its end
 * in {@code pg_wal/} and the backup manifest as its last member, so the snapshot restores on its
 * own. The server must have no tablespaces outside the data directory (pg_basebackup cannot write
 * them to one stream). The manifest's per-file checksums are CRC32C (PostgreSQL's default, for
 * pg_verifybackup): the stored object as a whole is protected by SHA-256 already, and SHA-256 per
 * file costs the server a core for the whole backup.
 */
final class BaseBackupSource implements SnapshotSource {
    private static final java.util.regex.Pattern START = java.util.regex.Pattern.compile(
            "write-ahead log start point: (\\S+) on timeline (\\d+)");
    private static final java.util.regex.Pattern END = java.util.regex.Pattern.compile("write-ahead log end point: (\\S+)");

    private final ClusterSourceFactory config;
    private final PgTools tools;
    private final java.util.function.Supplier<WalArchiver> archiver;
    /** When the backup started and ended, as the WAL mark records it (retention reads it). */
    private final java.time.Clock clock;

    /** @param archiver the source's running WAL archiver, or null where none runs (commands) */
    BaseBackupSource(ClusterSourceFactory config, PgTools tools, java.util.function.Supplier<WalArchiver> archiver,
            java.time.Clock clock) {
        this.clock = clock;
        this.config = config;
        this.tools = tools;
        this.archiver = archiver;
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

    /** The WAL archive's conditions (receiver, lag, window age) where the service runs it; none in commands. */
    @Override
    public List<dev.backstop.source.SourceCondition> conditions(java.time.Instant now) {
        if (archiver == null) {
            return List.of();
        }
        WalArchiver running = archiver.get();
        return running.started() ? running.conditions(now) : List.of();
    }

    @Override
    public Map<String, String> toolVersions() {
        return Map.of("pg_basebackup", tools.version("pg_basebackup"));
    }

    List<String> command() {
        return List.of(tools.tool("pg_basebackup"), "--host=" + config.host(), "--port=" + config.port(),
                "--username=" + config.user(), "--no-password", "--pgdata=-", "--format=tar", "--wal-method=fetch",
                "--checkpoint=fast", "--manifest-checksums=CRC32C", "--verbose");
    }

    /**
     * Into a chunked snapshot, each file of the data directory starts its own chunks, and a
     * relation file (a numeric name, a whole number of 8 KiB pages) is cut only at page
     * boundaries, so a changed page changes one chunk.
     */
    @Override
    public SourceReport writeTo(OutputStream out, dev.backstop.source.FileChunks files) throws IOException {
        if (files == null) {
            return writeTo(out);
        }
        dev.backstop.source.TarFiles tar = new dev.backstop.source.TarFiles(out, files, BaseBackupSource::alignment);
        SourceReport report = writeTo(tar);
        tar.flush();
        return report;
    }

    /** 8 KiB for a relation file ({@code base/1/1259}, {@code global/1262_fsm}, {@code base/5/16384.1}), else 1. */
    static int alignment(String nameAndSize) {
        int nul = nameAndSize.indexOf('\0');
        String name = nameAndSize.substring(0, nul);
        long size = Long.parseLong(nameAndSize.substring(nul + 1));
        String file = name.substring(name.lastIndexOf('/') + 1);
        boolean relation = (name.startsWith("base/") || name.startsWith("global/")) && file.matches("\\d+(_fsm|_vm|_init)?(\\.\\d+)?");
        return relation && size % 8192 == 0 ? 8192 : 1;
    }

    @Override
    public SourceReport writeTo(OutputStream out) throws IOException {
        Process process;
        java.time.Instant startedAt = clock.instant();
        try {
            process = tools.processes().start(command());
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
            awaitArchived(stderr.text(), startedAt);
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
     * A base backup is only as good as the WAL after it: when the service archives WAL, the snapshot
     * completes only once every segment from the backup's start to its end is stored (the server
     * switches segments when a backup ends, so this takes a second or two), and fails otherwise.
     */
    private void awaitArchived(String log, java.time.Instant startedAt) throws IOException, InterruptedException {
        WalArchiver running = archiver == null ? null : archiver.get();
        if (running == null || !running.started()) {
            return; // a command without the archiver: the tar holds its own WAL (-X fetch) and restores on its own
        }
        java.util.regex.Matcher start = START.matcher(log);
        java.util.regex.Matcher end = END.matcher(log);
        if (!start.find() || !end.find()) {
            throw new IOException("pg_basebackup did not report the backup's WAL start and end: " + log);
        }
        int timeline = Integer.parseInt(start.group(2));
        java.time.Duration wait = java.time.Duration.ofSeconds(60).compareTo(config.partialUploadEvery().multipliedBy(6)) > 0
                ? java.time.Duration.ofSeconds(60) : config.partialUploadEvery().multipliedBy(6);
        java.time.Instant deadline = java.time.Instant.now().plus(wait);
        String missing = null;
        while (java.time.Instant.now().isBefore(deadline)) {
            missing = running.firstMissing(timeline, Wal.lsn(start.group(1)), Wal.lsn(end.group(1)));
            if (missing != null) {
                running.uploadSoon(); // the server switched segments as the backup ended: store the end segment now
            }
            if (missing == null) {
                // Where it starts in the WAL, for retention (which keeps the WAL from the oldest base backup the window needs).
                running.archive().writeMark(new WalArchive.BaseBackupMark(Wal.segmentName(timeline, Wal.lsn(start.group(1)),
                        running.segmentSize()), start.group(1), end.group(1), timeline, startedAt, clock.instant()));
                return;
            }
            Thread.sleep(25); // the nudged pass stores the end segment in a few tens of ms
        }
        throw new IOException("the WAL of this base backup (from " + start.group(1) + " to " + end.group(1) + ") was not archived within "
                + wait.toSeconds() + " s (" + missing + " is missing): without it no point after the backup can be restored; "
                + "see GET /api/v1/sources/" + config.name() + "/pitr");
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

    /** Client tools: a newer major version serves an older server. */
    private static final List<String> CLIENT_TOOLS = List.of("pg_basebackup", "pg_receivewal");
    /** Tools that read or run the server's own files: a restore and a drill need exactly the server's major version. */
    private static final List<String> SERVER_TOOLS = List.of("pg_ctl", "postgres", "pg_waldump");

    /**
     * Every tool a base backup, the WAL archive, a restore and a drill run is in {@code binDirectory}
     * with a major version that fits the server's, and pg_receivewal connects for replication with
     * the source's settings (asked to drop a slot that does not exist: the answer comes after
     * authentication, and nothing changes).
     */
    @Override
    public List<dev.backstop.source.ToolCheck> checkTools() {
        List<dev.backstop.source.ToolCheck> checks = new java.util.ArrayList<>();
        int server;
        try (Connection c = replicationConnection(config)) {
            server = c.getMetaData().getDatabaseMajorVersion();
        } catch (SQLException e) {
            return List.of(dev.backstop.source.ToolCheck.failed("server", "cannot connect for replication as " + config.user() + ": "
                    + e.getMessage()));
        }
        for (String tool : java.util.stream.Stream.concat(CLIENT_TOOLS.stream(), SERVER_TOOLS.stream()).toList()) {
            java.nio.file.Path path = tools.bin().resolve(tool);
            if (!java.nio.file.Files.isExecutable(path)) {
                checks.add(dev.backstop.source.ToolCheck.failed(tool, path + " is missing (sources[" + config.name()
                        + "].binDirectory): " + (SERVER_TOOLS.contains(tool) ? "restores and drills need it" : "archiving needs it")));
                continue;
            }
            String version = tools.version(tool);
            int major;
            try {
                major = Integer.parseInt(version.replaceAll("^(\\d+).*", "$1"));
            } catch (NumberFormatException e) {
                checks.add(dev.backstop.source.ToolCheck.failed(tool, path + ": " + version));
                continue;
            }
            boolean fits = SERVER_TOOLS.contains(tool) ? major == server : major >= server;
            checks.add(fits ? dev.backstop.source.ToolCheck.ok(tool, version + " (server " + server + ")")
                    : dev.backstop.source.ToolCheck.failed(tool, path + " is version " + version + ", the server " + server + ": "
                            + (SERVER_TOOLS.contains(tool) ? "a restore needs the server's own major version"
                                    : "it must not be older than the server") + " (sources[" + config.name() + "].binDirectory)"));
        }
        String slot = "backstop_check_" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        List<String> probe = List.of(tools.tool("pg_receivewal"), "--host=" + config.host(), "--port=" + config.port(),
                "--username=" + config.user(), "--no-password", "--drop-slot", "--slot=" + slot);
        try {
            tools.run(probe, 60);
            checks.add(connects());
        } catch (IOException e) {
            checks.add(String.valueOf(e.getMessage()).contains("does not exist") ? connects()
                    : dev.backstop.source.ToolCheck.failed("pg_receivewal", "cannot connect for replication with sources["
                            + config.name() + "]'s settings: " + e.getMessage()));
        }
        return checks;
    }

    private dev.backstop.source.ToolCheck connects() {
        return dev.backstop.source.ToolCheck.ok("pg_receivewal", "connects for replication as " + config.user()
                + " (pg_basebackup uses the same connection)");
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
        props.setProperty("socketTimeout", "60"); // a server that stops answering fails the call instead of holding the archiver
        props.setProperty("ApplicationName", "backstop");
        return DriverManager.getConnection("jdbc:postgresql://" + config.host() + ":" + config.port() + "/", props);
    }
}
