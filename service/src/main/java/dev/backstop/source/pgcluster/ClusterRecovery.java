package dev.backstop.source.pgcluster;

import dev.backstop.source.SourceRestorer.PointInTime;
import dev.backstop.source.SourceRestorer.Recovery;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;

/**
 * How a restored base backup becomes a running server, in named steps: {@link #configure} (the
 * restore's own settings), {@link #planReplay} (for a point in time: the WAL chain, the point the
 * server stops at, its recovery settings), {@link #startAndAwaitPromoted} (the server replays the WAL
 * a feeder fetches, reporting the RECOVERING progress, until it promotes) and
 * {@link #checkPointReached} (the point reached, against the point asked for and the WAL). A step
 * that fails throws; the caller discards the directory.
 */
final class ClusterRecovery {
    static final Duration RECOVERY_TIMEOUT = Duration.ofHours(6);

    private final ClusterSourceFactory config;
    private final PgTools tools;
    private final WalArchive archive;
    private final Path dir;
    private final int port;
    /** Null: the base backup as it was, no WAL replayed. */
    private final PointInTime pit;
    private final Recovery progress;
    /** Throws once the restore is cancelled or the service stops: recovery is then abandoned and the copy discarded. */
    private final Runnable goingOn;
    private WalReplay replay;
    private Instant recoveredTo;

    ClusterRecovery(ClusterSourceFactory config, PgTools tools, WalArchive archive, Path dir, int port, PointInTime pit,
            Recovery progress, Runnable goingOn) {
        this.goingOn = goingOn;
        this.config = config;
        this.tools = tools;
        this.archive = archive;
        this.dir = dir;
        this.port = port;
        this.pit = pit;
        this.progress = progress;
    }

    /**
     * The restore's own settings, after the source's (PostgreSQL takes the last value of a key):
     * 127.0.0.1 only, never archiving; a scratch copy for tables also listens on {@code socketDirectory}.
     */
    void configure(Path socketDirectory) throws IOException {
        String settings = "\n# Added by Backstop's restore: a restored copy listens on 127.0.0.1 only and never archives\n"
                + "port = " + port + "\n"
                + "listen_addresses = '127.0.0.1'\n"
                + (socketDirectory == null ? "unix_socket_directories = ''\n" : ClusterTableRestore.scratchAccess(dir,
                        socketDirectory, config.password() != null))
                + "archive_mode = off\n"
                + "archive_command = ''\n";
        Files.writeString(dir.resolve("postgresql.auto.conf"), settings, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        Files.deleteIfExists(dir.resolve("standby.signal"));
        Files.deleteIfExists(dir.resolve("postmaster.pid"));
    }

    /** For a point in time: plans the WAL chain and writes the recovery settings; returns what will be replayed (for the detail). */
    String planReplay() throws IOException {
        if (pit == null) {
            return "";
        }
        replay = WalReplay.plan(archive, tools, dir);
        if (pit.point() == null) {
            replay.requireNoGap();
        }
        Instant lastCommit = pit.point() == null ? null : replay.lastCommit(dir.resolve(WalReplay.DIRECTORY + "-scan"));
        // A point at or after the archive's last commit recovers everything: the same rows, and
        // PostgreSQL would refuse a target it never passes.
        Instant target = pit.point() == null || lastCommit == null || !pit.point().isBefore(lastCommit) ? null : pit.point();
        replay.prepare(target);
        return " and WAL " + replay.range() + " (" + replay.segments() + " files) " + (target == null ? "to its end" : "to " + target);
    }

    /**
     * Starts the server (and the WAL feeder) as the server's OS user and waits until it has recovered
     * and promoted; when that fails or is cancelled, the server is stopped before this throws.
     */
    PgServer startAndAwaitPromoted() throws IOException {
        tools.handOver(dir);
        PgServer server = new PgServer(tools, dir, port);
        try {
            if (replay != null) {
                replay.start(progress, config.feeders());
            }
            server.start();
            try {
                server.awaitReady(config.user(), config.password(), true, RECOVERY_TIMEOUT, goingOn);
            } catch (IOException e) {
                throw replay != null && replay.failure() != null ? new IOException(replay.failure() + "; " + e.getMessage(), e) : e;
            }
            if (replay != null && replay.failure() != null) {
                // The script then answered "no such file", which recovery takes for the end of the
                // archive: the server promoted short of the point. Never reported as a restore.
                throw new IOException(replay.failure() + "; recovery ended early, so the copy is discarded");
            }
            if (replay != null) {
                replay.replayedAll();
            }
        } catch (IOException | RuntimeException | Error e) {
            // Stopped here, before the feeder's files go (their removal would let recovery end and promote),
            // and awaited if it is still starting: a cancel right after the start leaves no server writing.
            try {
                server.stop("immediate");
            } catch (IOException stopFailed) {
                e.addSuppressed(stopFailed);
            }
            throw e;
        } finally {
            if (replay != null) {
                replay.close();
            }
        }
        return server;
    }

    /** The point the server reached: never after the point asked for, and as far as the WAL it was given goes. */
    String checkPointReached(PgServer server) throws IOException {
        if (pit == null) {
            return "";
        }
        recoveredTo = lastReplayed(server);
        if (pit.point() != null && recoveredTo != null && recoveredTo.isAfter(pit.point())) {
            throw new IOException("recovery replayed a commit of " + recoveredTo + ", after pointInTime " + pit.point());
        }
        replay.checkReached(recoveredTo);
        return "; recoveredTo " + (recoveredTo == null ? "the base backup (no commit replayed)" : recoveredTo)
                + (pit.point() == null ? " (latest)" : " (pointInTime " + pit.point() + ")");
    }

    /** The point reached (its last replayed transaction); null before {@link #checkPointReached} or without a point. */
    Instant recoveredTo() {
        return recoveredTo;
    }

    /** The time of the last commit recovery replayed, read from the server. */
    private Instant lastReplayed(PgServer server) throws IOException {
        try (Connection c = server.connect("postgres", config.user(), config.password()); var s = c.createStatement();
                var r = s.executeQuery("SELECT pg_last_xact_replay_timestamp()")) {
            r.next();
            java.sql.Timestamp t = r.getTimestamp(1);
            return t == null ? null : t.toInstant();
        } catch (java.sql.SQLException e) {
            throw new IOException("cannot read the recovered point from the restored server: " + e.getMessage(), e);
        }
    }
}
