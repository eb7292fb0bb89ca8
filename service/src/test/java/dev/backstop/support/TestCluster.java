package dev.backstop.support;

import dev.backstop.source.FileTrees;
import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.source.pgcluster.PgTools;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

/**
 * A private PostgreSQL 15 cluster for one test: {@code initdb} into a fresh directory, started
 * with {@code pg_ctl} on a free port on 127.0.0.1 (trust authentication, replication allowed), as
 * the {@code postgres} OS user when the tests run as root (PostgreSQL refuses root). {@link #close}
 * stops it and removes every file. {@code BACKSTOP_TEST_PG_BIN} overrides where the binaries are.
 */
public final class TestCluster implements AutoCloseable {
    public static final Path BIN = Path.of(System.getenv().getOrDefault("BACKSTOP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"));
    public static final String OS_USER = "postgres";

    private final Path root;
    private final PgTools tools;
    private final PgServer server;
    private final String password;

    private TestCluster(Path root, PgTools tools, PgServer server, String password) {
        this.root = root;
        this.tools = tools;
        this.server = server;
        this.password = password;
    }

    public static TestCluster start(String... settings) throws IOException {
        return startWithPassword(null, settings);
    }

    /**
     * A cluster whose every connection, replication included, needs the {@code postgres} role's
     * password ({@code scram-sha-256}, as the README tells operators to set up), or trust
     * authentication when {@code password} is null.
     */
    public static TestCluster startWithPassword(String password, String... settings) throws IOException {
        Path root = openDirectory("backstop-cluster");
        PgTools tools = new PgTools(BIN, OS_USER);
        tools.handOver(root);
        Path data = root.resolve("data");
        List<String> initdb = new java.util.ArrayList<>(List.of(tools.tool("initdb"), "-D", data.toString(), "-U", "postgres", "-E",
                "UTF8", "--no-sync"));
        if (password == null) {
            initdb.addAll(List.of("-A", "trust"));
        } else {
            Path pwfile = root.resolve("pwfile");
            Files.writeString(pwfile, password + "\n");
            tools.handOver(pwfile);
            initdb.addAll(List.of("-A", "scram-sha-256", "--pwfile=" + pwfile));
        }
        tools.run(tools.asServerUser(initdb), 120);
        int port = freePort();
        StringBuilder conf = new StringBuilder("\nport = " + port + "\nlisten_addresses = '127.0.0.1'\n"
                + "unix_socket_directories = ''\nfsync = off\nmax_wal_senders = 10\nmax_replication_slots = 10\n");
        for (String setting : settings) {
            conf.append(setting).append('\n');
        }
        Files.writeString(data.resolve("postgresql.conf"), conf, java.nio.file.StandardOpenOption.APPEND);
        TestCluster cluster = new TestCluster(root, tools, new PgServer(tools, data, port), password);
        try {
            cluster.server.start();
            cluster.server.awaitReady("postgres", password, false, Duration.ofSeconds(120));
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** A new directory that the server's OS user can enter (restores write data directories into it). */
    public static Path openDirectory(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    public static PgTools tools() {
        return new PgTools(BIN, OS_USER);
    }

    public int port() {
        return server.port();
    }

    public PgServer server() {
        return server;
    }

    public Path dataDirectory() {
        return server.dataDirectory();
    }

    public Connection connect() throws SQLException {
        return server.connect("postgres", "postgres", password);
    }

    public void sql(String... statements) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    public long count(String query) throws SQLException {
        return count(server, password, query);
    }

    /** The server's clock: taken between two statements, a time after the first committed and before the second began. */
    public java.time.Instant now() throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); var r = s.executeQuery("SELECT clock_timestamp()")) {
            r.next();
            return r.getTimestamp(1).toInstant();
        }
    }

    /** The single number a query returns, on any server. */
    public static long count(PgServer on, String query) throws SQLException {
        return count(on, null, query);
    }

    /** The single number a query returns, on a server that wants {@code password} (null: trust). */
    public static long count(PgServer on, String password, String query) throws SQLException {
        try (Connection c = on.connect("postgres", "postgres", password); Statement s = c.createStatement();
                var r = s.executeQuery(query)) {
            r.next();
            return r.getLong(1);
        }
    }

    /**
     * Moves the server onto a new timeline, as a failover does: a clean stop, a start as a standby
     * of nothing (it replays its own WAL), then {@code pg_ctl promote}. Returns the new timeline.
     */
    public int promoteToNewTimeline() throws IOException, SQLException {
        server.stop("fast");
        Path signal = server.dataDirectory().resolve("standby.signal");
        Files.writeString(signal, "");
        tools.handOver(signal);
        server.start();
        server.awaitReady("postgres", password, false, Duration.ofSeconds(120));
        tools.run(tools.asServerUser(List.of(tools.tool("pg_ctl"), "-D", server.dataDirectory().toString(), "-w", "-t", "120",
                "promote")), 150);
        server.awaitReady("postgres", password, true, Duration.ofSeconds(120));
        return (int) count("SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int");
    }

    /** Stops the server at once, as a crash would. */
    public void kill() throws IOException {
        server.stop("immediate");
    }

    @Override
    public void close() throws IOException {
        try {
            server.stop("immediate");
        } finally {
            FileTrees.delete(root);
        }
    }
}
