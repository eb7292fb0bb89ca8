package dev.backstop.source.pgcluster;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.MetricName;
import dev.backstop.source.StderrTail;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams a cluster's WAL into storage for as long as the service runs. A supervised
 * {@code pg_receivewal --slot S --synchronous --no-loop} writes into the spool directory and is
 * restarted with backoff (1 s doubling to 30 s) whenever it exits. Every second the uploader stores
 * each completed segment and history file (zstd, OpenPGP, conditional create, read back) and only
 * then removes it from the spool; every {@code partialUploadEvery} it stores the segment being
 * written as {@code .partial}. {@code status.json} in storage says how far the archive reaches.
 */
final class WalArchiver implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(WalArchiver.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final ClusterSourceFactory config;
    private final PgTools tools;
    private final WalArchive archive;
    private final Path spool;
    private final Clock clock;
    private final ScheduledExecutorService uploads;
    private final java.util.concurrent.ExecutorService supervisor;
    private final Meter uploaded;
    private final Meter failed;
    private final Meter conflicts;

    private volatile boolean stopping;
    private volatile boolean started;
    private volatile Process receiver;
    private volatile boolean receiverUp;
    private volatile String lastError;
    private volatile Instant lastPartialUpload = Instant.EPOCH;
    private volatile String lastPartialState = "";
    private volatile WalArchive.Status status;
    private volatile long segmentSize;
    /** The slot's restart LSN (what pg_receivewal had flushed) sampled before the last stored partial segment was read. */
    private volatile long archivedLsn = -1;
    private volatile Positions lastPositions;
    private Duration backoff = Duration.ofSeconds(1);

    WalArchiver(ClusterSourceFactory config, PgTools tools, WalArchive archive, Path spool, MetricRegistry metrics, Clock clock,
            ScheduledExecutorService uploads, java.util.concurrent.ExecutorService supervisor) {
        this.config = config;
        this.tools = tools;
        this.archive = archive;
        this.spool = spool;
        this.clock = clock;
        this.uploads = uploads;
        this.supervisor = supervisor;
        String name = config.name();
        this.uploaded = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "success"));
        this.failed = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "failure"));
        this.conflicts = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "conflict"));
        metrics.gauge(MetricName.of("backstop.wal.receiver.up", "source", name), () -> () -> receiverUp ? 1 : 0);
        metrics.gauge(MetricName.of("backstop.wal.spool.bytes", "source", name), () -> this::spoolBytes);
        metrics.gauge(MetricName.of("backstop.wal.archive.lag.bytes", "source", name), () -> this::archiveLagBytes);
        metrics.gauge(MetricName.of("backstop.replication.slot.retained.bytes", "source", name), () -> this::slotRetainedBytes);
    }

    /** Whether the service started this archiver (a command builds but never starts one). */
    boolean started() {
        return started;
    }

    /**
     * The first segment from {@code startLsn} to {@code endLsn} on {@code timeline} that storage does
     * not hold yet, or null when all are stored. Asks storage only once the archive has passed the end.
     */
    String firstMissing(int timeline, long startLsn, long endLsn) throws IOException {
        WalArchive.Status s = status;
        if (s == null || segmentSize == 0) {
            return "the archive's status";
        }
        String first = Wal.segmentName(timeline, startLsn, segmentSize);
        String last = Wal.segmentName(timeline, endLsn, segmentSize);
        if (s.lastSegment() == null || s.lastSegment().compareTo(last) < 0) {
            return s.lastSegment() == null ? first : Wal.next(s.lastSegment(), segmentSize);
        }
        java.util.TreeSet<String> stored = archive.segments(timeline);
        for (String segment = first; segment.compareTo(last) <= 0; segment = Wal.next(segment, segmentSize)) {
            if (!stored.contains(segment)) {
                return segment;
            }
        }
        return null;
    }

    @Override
    public void start() throws Exception {
        started = true;
        Files.createDirectories(spool);
        supervisor.execute(this::identifyThenSupervise);
        uploads.scheduleWithFixedDelay(this::uploadQuietly, 1, 1, TimeUnit.SECONDS);
    }

    /** The receiver's state and the archive's reach, for the API and health. */
    Map<String, Object> state() {
        WalArchive.Status s = status;
        Map<String, Object> state = new java.util.LinkedHashMap<>();
        state.put("receiver", receiverUp ? "streaming" : "down");
        state.put("slot", config.slot());
        state.put("spoolBytes", spoolBytes());
        state.put("lastSegment", s == null ? null : s.lastSegment());
        state.put("coveredUntil", s == null ? null : s.coveredUntil());
        Positions p = lastPositions;
        state.put("currentLsn", p == null ? null : Wal.lsn(p.current()));
        state.put("archivedLsn", archivedLsn < 0 ? null : Wal.lsn(archivedLsn));
        state.put("lagBytes", archiveLagBytes());
        state.put("slotState", p == null ? "unknown" : p.slotState());
        state.put("slotRetainedBytes", slotRetainedBytes());
        state.put("gaps", s == null ? List.of() : s.gaps());
        state.put("lastError", lastError);
        return state;
    }

    WalArchive archive() {
        return archive;
    }

    WalArchive.Status status() {
        return status;
    }

    boolean receiverUp() {
        return receiverUp;
    }

    private void identifyThenSupervise() {
        while (!stopping) {
            try {
                identify();
                break;
            } catch (Exception e) {
                lastError = "cannot identify the cluster: " + e.getMessage();
                LOG.warn("WAL archive of {}: {}; retrying in {} s", config.name(), lastError, backoff.toSeconds());
                if (!pause()) {
                    return;
                }
            }
        }
        supervise();
    }

    /** Records (or checks) the system id in {@code cluster.json}: WAL of two clusters never mixes. */
    private void identify() throws Exception {
        String systemId;
        long size;
        int version;
        try (Connection c = BaseBackupSource.replicationConnection(config); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("IDENTIFY_SYSTEM")) {
                r.next();
                systemId = r.getString(1);
            }
            try (ResultSet r = s.executeQuery("SHOW wal_segment_size")) {
                r.next();
                size = parseSize(r.getString(1));
            }
            version = c.getMetaData().getDatabaseMajorVersion();
        }
        WalArchive.ClusterIdentity stored = archive.identity();
        if (stored == null) {
            archive.writeIdentity(new WalArchive.ClusterIdentity(systemId, size, version));
        } else if (!stored.systemId().equals(systemId)) {
            throw new IllegalStateException("storage holds WAL of system " + stored.systemId() + " under source " + config.name()
                    + ", but " + config.host() + ":" + config.port() + " is system " + systemId
                    + "; give this cluster a source name of its own");
        }
        segmentSize = size;
        WalArchive.Status existing = archive.status();
        status = existing != null ? existing : new WalArchive.Status(systemId, size, 0, null, null, null, List.of());
    }

    static long parseSize(String text) {
        String t = text.trim().toUpperCase(java.util.Locale.ROOT);
        long unit = t.endsWith("GB") ? 1L << 30 : t.endsWith("MB") ? 1L << 20 : t.endsWith("KB") ? 1L << 10 : 1;
        return Long.parseLong(t.replaceAll("[^0-9]", "")) * unit;
    }

    private void supervise() {
        while (!stopping) {
            try {
                createSlot();
                Process process = new ProcessBuilder(command()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectErrorStream(false).start();
                process.getOutputStream().close();
                receiver = process;
                StderrTail stderr = new StderrTail(process.getErrorStream(), "pg_receivewal-" + config.name());
                stderr.start();
                receiverUp = true;
                Instant started = clock.instant();
                int exit = process.waitFor();
                receiverUp = false;
                stderr.join(5_000);
                if (stopping) {
                    return;
                }
                lastError = "pg_receivewal exited with status " + exit + ": " + stderr.text();
                LOG.warn("WAL archive of {}: {}; restarting in {} s", config.name(), lastError, backoff.toSeconds());
                if (Duration.between(started, clock.instant()).compareTo(Duration.ofMinutes(1)) > 0) {
                    backoff = Duration.ofSeconds(1); // it ran a while: this is a new failure, not the same one again
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                receiverUp = false;
                lastError = e.getMessage();
                LOG.warn("WAL archive of {}: {}; retrying in {} s", config.name(), lastError, backoff.toSeconds());
            }
            if (!pause()) {
                return;
            }
        }
    }

    private boolean pause() {
        try {
            Thread.sleep(backoff.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        return !stopping;
    }

    private void createSlot() throws IOException {
        List<String> command = new ArrayList<>(connection("pg_receivewal"));
        command.addAll(List.of("--slot=" + config.slot(), "--create-slot", "--if-not-exists"));
        PgTools.run(command, config.clientEnvironment(), 60);
    }

    private List<String> connection(String tool) {
        return new ArrayList<>(List.of(tools.tool(tool), "--host=" + config.host(), "--port=" + config.port(),
                "--username=" + config.user(), "--no-password"));
    }

    List<String> command() {
        List<String> command = connection("pg_receivewal");
        command.addAll(List.of("--directory=" + spool, "--slot=" + config.slot(), "--synchronous", "--no-loop",
                "--status-interval=1"));
        return command;
    }

    private void uploadQuietly() {
        try {
            upload(false);
        } catch (Exception e) {
            lastError = "upload: " + e.getMessage();
            LOG.warn("WAL archive of {}: {}", config.name(), lastError);
        }
    }

    /**
     * One pass: completed files in name order (each removed from the spool only once stored and read
     * back), then the partial segment when {@code partialUploadEvery} has passed (or {@code force}).
     */
    synchronized void upload(boolean force) throws IOException {
        WalArchive.Status s = status;
        if (s == null) {
            return; // not identified yet
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(spool)) {
            files = list.sorted().toList();
        }
        boolean storedAny = false;
        for (Path file : files) {
            String name = file.getFileName().toString();
            try {
                if (Wal.HISTORY.matcher(name).matches()) {
                    archive.store(file, archive.historyKey(name), true);
                } else if (Wal.SEGMENT.matcher(name).matches()) {
                    archive.store(file, archive.segmentKey(name), true);
                    s = withSegment(s, name);
                } else {
                    continue;
                }
            } catch (WalArchive.ConflictException e) {
                conflicts.mark();
                lastError = e.getMessage();
                LOG.error("WAL archive of {}: {}", config.name(), e.getMessage());
                return;
            } catch (IOException e) {
                failed.mark();
                throw e;
            }
            uploaded.mark();
            Files.delete(file);
            status = s;
            storedAny = true;
        }
        Path partial = files.stream().filter(f -> f.getFileName().toString().endsWith(".partial")).reduce((a, b) -> b).orElse(null);
        Instant now = clock.instant();
        Process streaming = receiver;
        if (partial != null && (force || !now.isBefore(lastPartialUpload.plus(config.partialUploadEvery())))) {
            // Everything the server sent before readFrom is in the segments stored above or in this
            // file, if pg_receivewal was streaming all along; the reach advances only then.
            Instant readFrom = clock.instant();
            boolean wasStreaming = streaming != null && streaming.isAlive();
            Positions before = positions();
            String segment = partial.getFileName().toString().substring(0, 24);
            try {
                String state = segment + ":" + Files.size(partial) + ":" + Files.getLastModifiedTime(partial).toMillis();
                if (!state.equals(lastPartialState)) {
                    archive.store(partial, archive.partialKey(segment), false);
                    uploaded.mark();
                    lastPartialState = state;
                }
            } catch (java.nio.file.NoSuchFileException completedMeanwhile) {
                if (storedAny) {
                    archive.writeStatus(s);
                }
                return; // pg_receivewal finished the segment: the next pass stores it whole
            } catch (IOException e) {
                failed.mark();
                throw e;
            }
            lastPartialUpload = now;
            boolean stillStreaming = wasStreaming && receiver == streaming && streaming.isAlive();
            Instant covered = readFrom;
            if (!stillStreaming) { // the receiver was down: only what the file held when last written
                Instant written = Files.getLastModifiedTime(partial).toInstant();
                covered = s.coveredUntil() != null && s.coveredUntil().isAfter(written) ? s.coveredUntil() : written;
            }
            s = new WalArchive.Status(s.systemId(), segmentSize, Wal.timeline(segment), s.lastSegment(), segment, covered, s.gaps());
            status = s;
            if (stillStreaming && before != null) {
                archivedLsn = before.flushed();
            }
            archive.writeStatus(s);
        } else if (storedAny) {
            archive.writeStatus(s);
        }
    }

    /** After a full segment is stored: it is the newest, and no longer the partial one. */
    private WalArchive.Status withSegment(WalArchive.Status s, String segment) {
        String last = s.lastSegment() == null || segment.compareTo(s.lastSegment()) > 0 ? segment : s.lastSegment();
        return new WalArchive.Status(s.systemId(), segmentSize, Wal.timeline(last), last,
                segment.equals(s.partialSegment()) ? null : s.partialSegment(), s.coveredUntil(), s.gaps());
    }

    /** The server's current WAL position and what the slot says the receiver has flushed. */
    record Positions(long current, long flushed, String slotState) {}

    /** Asks the server over a replication connection (IDENTIFY_SYSTEM, READ_REPLICATION_SLOT); null when it cannot be reached. */
    Positions positions() {
        try (Connection c = BaseBackupSource.replicationConnection(config); Statement st = c.createStatement()) {
            long current;
            try (ResultSet r = st.executeQuery("IDENTIFY_SYSTEM")) {
                r.next();
                current = Wal.lsn(r.getString(3));
            }
            long flushed = -1;
            String state = "missing";
            try (ResultSet r = st.executeQuery("READ_REPLICATION_SLOT " + config.slot())) {
                if (r.next() && r.getString(1) != null) {
                    state = "physical";
                    String restart = r.getString(2);
                    flushed = restart == null ? -1 : Wal.lsn(restart);
                }
            }
            Positions p = new Positions(current, flushed, state);
            lastPositions = p;
            return p;
        } catch (Exception e) {
            return null;
        }
    }

    /** Bytes of WAL the server has written that storage does not hold yet; -1 when unknown. */
    long archiveLagBytes() {
        Positions p = lastPositions;
        return p == null || archivedLsn < 0 ? -1 : Math.max(0, p.current() - archivedLsn);
    }

    /** Bytes of WAL the slot keeps on the server; -1 when unknown. */
    long slotRetainedBytes() {
        Positions p = lastPositions;
        return p == null || p.flushed() < 0 ? -1 : Math.max(0, p.current() - p.flushed());
    }

    long spoolBytes() {
        try (Stream<Path> files = Files.list(spool)) {
            return files.mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Stops pg_receivewal (SIGTERM: it flushes what it has) and stores what the spool holds, partial segment included. */
    @Override
    public void stop() {
        stopping = true;
        Process process = receiver;
        if (process != null) {
            process.destroy();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process.destroyForcibly();
        }
        try {
            upload(true);
        } catch (Exception e) {
            LOG.warn("WAL archive of {}: the last upload before stopping failed ({}); the spool keeps the files for the next start",
                    config.name(), e.getMessage());
        }
    }
}
