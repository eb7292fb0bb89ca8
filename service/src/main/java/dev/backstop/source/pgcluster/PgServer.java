package dev.backstop.source.pgcluster;

import dev.backstop.source.SourceProcesses;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

/**
 * A PostgreSQL server on a data directory this process controls (a restored copy, a drill's
 * scratch copy), started and stopped with {@code pg_ctl} as the tools' server user, listening on
 * 127.0.0.1 only. Its log goes to {@link #LOG} inside the data directory.
 */
public final class PgServer {
    public static final String LOG = "backstop-server.log";
    private static final Duration START_GRACE = Duration.ofSeconds(30);

    /** The server gets no client connection environment: it connects to nothing, and a password in its environment would outlive the restore. */
    private static final SourceProcesses SERVER = SourceProcesses.NONE;
    private final PgTools tools;
    private final Path dataDirectory;
    private final int port;
    /** When this object started the server (null: it did not); until it has been seen running, it may still be starting. */
    private volatile Instant startedAt;
    private volatile boolean seenRunning;

    public PgServer(PgTools tools, Path dataDirectory, int port) {
        this.tools = tools;
        this.dataDirectory = dataDirectory;
        this.port = port;
    }

    public Path dataDirectory() {
        return dataDirectory;
    }

    public int port() {
        return port;
    }

    /** Starts the server without waiting; {@link #awaitReady} waits. */
    public void start() throws IOException {
        seenRunning = false;
        startedAt = Instant.now();
        SERVER.run(tools.asServerUser(List.of(tools.tool("pg_ctl"), "-D", dataDirectory.toString(), "-l",
                dataDirectory.resolve(LOG).toString(), "-W", "start")), 120);
    }

    /** Whether a postmaster runs on the data directory ({@code pg_ctl status}). */
    public boolean running() {
        try {
            SERVER.run(tools.asServerUser(List.of(tools.tool("pg_ctl"), "-D", dataDirectory.toString(), "status")), 30);
            seenRunning = true;
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Waits until the server accepts connections as {@code user} and, when {@code promoted}, has
     * left recovery. Fails at once, with the end of the server's log, when the server exits.
     */
    public void awaitReady(String user, String password, boolean promoted, Duration timeout) throws IOException {
        awaitReady(user, password, promoted, timeout, () -> { });
    }

    /** As {@link #awaitReady(String, String, boolean, Duration)}; {@code goingOn} is run while waiting and may throw to stop. */
    public void awaitReady(String user, String password, boolean promoted, Duration timeout, Runnable goingOn) throws IOException {
        Instant deadline = Instant.now().plus(timeout);
        // pg_ctl -W returns before the postmaster has written its pid file: until it has been seen
        // running once, "not running" may mean "not yet" (for up to START_GRACE).
        Instant startGrace = Instant.now().plus(START_GRACE);
        String last = "not started";
        while (Instant.now().isBefore(deadline)) {
            goingOn.run();
            try (Connection c = connect("postgres", user, password); Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("SELECT pg_is_in_recovery()")) {
                r.next();
                seenRunning = true;
                if (!promoted || !r.getBoolean(1)) {
                    return;
                }
                last = "still in recovery";
            } catch (SQLException e) {
                last = e.getMessage();
                if (!running() && (seenRunning || Instant.now().isAfter(startGrace))) {
                    throw new IOException("the server on " + dataDirectory + " stopped: " + logTail());
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the server on " + dataDirectory, e);
            }
        }
        throw new IOException("the server on " + dataDirectory + " was not ready after " + timeout.toSeconds() + " s (" + last
                + "): " + logTail());
    }

    public Connection connect(String database, String user, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("connectTimeout", "10");
        props.setProperty("ApplicationName", "backstop");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, props);
    }

    /**
     * Stops the server: {@code fast} (clean, checkpointed) or {@code immediate}. Nothing when it is not
     * running; a server this object started and has not yet seen running is awaited first (for up to
     * {@link #START_GRACE} after its start), so a stop right after {@link #start} never misses a
     * postmaster that has not yet written its pid file and would go on writing into the directory.
     */
    public void stop(String mode) throws IOException {
        if (running() || awaitStarting()) {
            SERVER.run(tools.asServerUser(List.of(tools.tool("pg_ctl"), "-D", dataDirectory.toString(), "-m", mode, "-w", "-t",
                    "300", "stop")), 330);
        }
    }

    /** True once a server this object started and has not seen running yet shows up; false when none does within the grace. */
    private boolean awaitStarting() throws IOException {
        Instant started = startedAt;
        if (started == null || seenRunning) {
            return false;
        }
        Instant graceEnds = started.plus(START_GRACE);
        while (Instant.now().isBefore(graceEnds)) {
            if (running()) {
                return true;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the server on " + dataDirectory + " to start, to stop it", e);
            }
        }
        return false;
    }

    /** The last lines of the server's log, for an error message. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(dataDirectory.resolve(LOG), StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no server log)";
        }
    }
}
