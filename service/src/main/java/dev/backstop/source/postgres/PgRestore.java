package dev.backstop.source.postgres;

import dev.backstop.source.SourceEnvironment;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * How a dump goes into a database: {@code pg_restore} reading its standard input as the verified
 * stream arrives, or, where several large tables make it faster, from a staged file with
 * {@code -j}. The processes running are ended when the service stops.
 */
final class PgRestore {
    private final PostgresSourceFactory pg;
    private final SourceEnvironment environment;
    private final PostgresRestorer restorer;
    /** pg_restore processes running now: ended when the service stops. */
    private final Set<Process> running = ConcurrentHashMap.newKeySet();

    PgRestore(PostgresSourceFactory pg, SourceEnvironment environment, PostgresRestorer restorer) {
        this.pg = pg;
        this.environment = environment;
        this.restorer = restorer;
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
    Parallel parallel() {
        int cores = Runtime.getRuntime().availableProcessors();
        if (cores < 2) {
            return Parallel.NO;
        }
        try (Connection c = restorer.connect(pg.database());
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

    /** Copies in 64 KiB writes (a pipe to pg_restore takes them whole); {@code progress} hears the bytes so far and may throw to stop. */
    private static void copy(InputStream in, OutputStream out, LongConsumer progress) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long done = 0;
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
            out.write(buffer, 0, n);
            done += n;
            progress.accept(done);
        }
    }

    /** The decoded dump into a file of the staging directory; every chunk is also a progress point (a cancel stops it). */
    static void stage(InputStream raw, Path staged, LongConsumer progress) throws IOException {
        try (OutputStream out = java.nio.file.Files.newOutputStream(staged)) {
            copy(raw, out, progress);
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
        Process process = pg.processes().start(command, b -> b.redirectErrorStream(true));
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
                    copy(raw, stdin, progress);
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

    void stop() {
        running.forEach(Process::destroy);
    }
}
