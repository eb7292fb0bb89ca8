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
    /** Samples the server's positions between upload passes, so the lag keeps up while a pass waits on storage. */
    private final ScheduledExecutorService sampler;
    private final java.util.concurrent.ExecutorService supervisor;
    private final Meter uploaded;
    private final Meter failed;
    private final Meter conflicts;
    private final Meter gaps;
    private final dev.backstop.source.SourceEnvironment.SnapshotRequests requests;

    private volatile boolean stopping;
    private volatile boolean started;
    private volatile Process receiver;
    private volatile boolean receiverUp;
    /** When the receiver last stopped streaming (the archiver's start before it first streamed); null while it streams. */
    private volatile Instant downSince;
    /**
     * Since when the slot is held by another client (another node of a clustered Backstop streams
     * it): this node stands by, retries every {@link #STANDBY_RETRY}, and reads the archive's
     * status from storage instead of writing it. Null while this node streams or is simply down.
     */
    private volatile Instant standingBySince;
    private volatile Instant standbyStatusReadAt = Instant.EPOCH;
    private volatile Instant receiverStartedAt = Instant.EPOCH;
    /** How long a standby's receiver must run before it counts as streaming (one that finds the slot taken exits at once). */
    private static final Duration TAKEOVER = Duration.ofSeconds(2);
    static final Duration STANDBY_RETRY = Duration.ofSeconds(5);
    /** A receiver that exits sooner than this never streamed: its start does not end the outage. */
    private static final Duration SHORT_LIVED = Duration.ofSeconds(10);
    private volatile String lastError;
    private volatile Instant lastPartialUpload = Instant.EPOCH;
    private volatile String lastPartialState = "";
    private volatile WalArchive.Status status;
    private volatile long segmentSize;
    /** The slot's restart LSN (what pg_receivewal had flushed) sampled before the last stored partial segment was read. */
    private volatile long archivedLsn = -1;
    /** The server's flushed WAL position sampled every pass (under upload's lock): a commit made before {@code at} lies before {@code lsn}. */
    private record Sample(Instant at, long lsn) {}
    private final java.util.ArrayDeque<Sample> samples = new java.util.ArrayDeque<>();
    /** The server's positions, asked on a replication connection (under upload's lock). */
    private final ServerPositions server;
    /** Why a base backup is wanted at once (the WAL chain broke), until one has been started; else null. */
    private volatile String baseBackupWanted;
    private Duration backoff = Duration.ofSeconds(1);
    private final java.util.concurrent.atomic.AtomicBoolean nudged = new java.util.concurrent.atomic.AtomicBoolean();

    WalArchiver(ClusterSourceFactory config, PgTools tools, WalArchive archive, Path spool, MetricRegistry metrics, Clock clock,
            ScheduledExecutorService uploads, ScheduledExecutorService sampler, java.util.concurrent.ExecutorService supervisor,
            dev.backstop.source.SourceEnvironment.SnapshotRequests requests) {
        this.config = config;
        this.tools = tools;
        this.archive = archive;
        this.spool = spool;
        this.clock = clock;
        this.server = new ServerPositions(config, clock);
        this.uploads = uploads;
        this.sampler = sampler;
        this.supervisor = supervisor;
        this.requests = requests;
        String name = config.name();
        this.uploaded = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "success"));
        this.failed = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "failure"));
        this.conflicts = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "conflict"));
        this.gaps = metrics.meter(MetricName.of("backstop.wal.gaps", "source", name));
        metrics.gauge(MetricName.of("backstop.wal.receiver.up", "source", name), () -> () -> streaming() ? 1 : 0);
        metrics.gauge(MetricName.of("backstop.wal.receiver.standby", "source", name), () -> () -> standingBySince != null ? 1 : 0);
        metrics.gauge(MetricName.of("backstop.wal.spool.bytes", "source", name), () -> this::spoolBytes);
        metrics.gauge(MetricName.of("backstop.wal.archive.lag.bytes", "source", name), () -> this::archiveLagBytes);
        metrics.gauge(MetricName.of("backstop.replication.slot.retained.bytes", "source", name), () -> this::slotRetainedBytes);
        metrics.gauge(MetricName.of("backstop.replication.slot.safe.wal.size.bytes", "source", name), () -> this::slotSafeWalBytes);
        metrics.gauge(MetricName.of("backstop.replication.slot.wal.keep.limit.bytes", "source", name), () -> server::keepLimitBytes);
        // The configured bounds, so alert rules need nothing site-specific.
        metrics.gauge(MetricName.of("backstop.wal.partial.upload.interval.seconds", "source", name),
                () -> () -> config.partialUploadEvery().toMillis() / 1000.0);
        metrics.gauge(MetricName.of("backstop.wal.archive.lag.warn.bytes", "source", name), () -> config::walLagWarnBytes);
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
        downSince = clock.instant();
        Files.createDirectories(spool);
        supervisor.execute(this::identifyThenSupervise);
        uploads.scheduleWithFixedDelay(this::uploadQuietly, 1, 1, TimeUnit.SECONDS);
        sampler.scheduleWithFixedDelay(() -> {
            if (!stopping) {
                server.sampleIfOlderThan(Duration.ofSeconds(1));
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    /** Runs an upload pass now rather than at the next tick (a base backup waits for its end segment). */
    void uploadSoon() {
        if (started && !stopping && nudged.compareAndSet(false, true)) { // at most one extra pass waiting
            uploads.execute(() -> {
                nudged.set(false);
                uploadQuietly();
            });
        }
    }

    /** What the archiver knows now, read once from its fields: the input of {@link ArchiverHealth}. */
    ArchiverView view() {
        return new ArchiverView(streaming(), receiverUp, standingBySince, downSince, lastError, spoolBytes(), status, server.last(),
                archivedLsn, archiveLagBytes(), slotRetainedBytes(), server.keepLimitBytes(), slotSafeWalBytes());
    }

    /** The receiver's state and the archive's reach, for the API ({@link ArchiverHealth#state}). */
    Map<String, Object> state() {
        return ArchiverHealth.state(view(), config.slot());
    }

    /** For {@code /health/detailed} ({@link ArchiverHealth#conditions}). */
    List<dev.backstop.source.SourceCondition> conditions(Instant now) {
        return ArchiverHealth.conditions(view(), config, now);
    }

    long segmentSize() {
        return segmentSize;
    }

    WalArchive archive() {
        return archive;
    }

    WalArchive.Status status() {
        return status;
    }

    boolean receiverUp() {
        return streaming();
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
                refreshStatus(); // another node may have archived since this one last did (it stood by, or was away)
                Process process = tools.processes().builder(command()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectErrorStream(false).start();
                process.getOutputStream().close();
                receiver = process;
                StderrTail stderr = new StderrTail(process.getErrorStream(), "pg_receivewal-" + config.name());
                stderr.start();
                Instant downBefore = downSince;
                receiverStartedAt = clock.instant();
                receiverUp = true;
                downSince = null;
                Instant started = clock.instant();
                int exit = process.waitFor();
                receiverUp = false;
                boolean shortLived = Duration.between(started, clock.instant()).compareTo(SHORT_LIVED) < 0;
                downSince = shortLived && downBefore != null ? downBefore : clock.instant(); // a flapping receiver stays down
                stderr.join(5_000);
                if (stopping) {
                    return;
                }
                if (slotHeldElsewhere(stderr.text())) {
                    if (standingBySince == null) {
                        standingBySince = clock.instant();
                        LOG.info("WAL archive of {}: slot {} is streamed by another client (another node?); standing by, retrying "
                                + "every {} s", config.name(), config.slot(), STANDBY_RETRY.toSeconds());
                    }
                    lastError = null;
                    downSince = null;
                    if (!sleep(STANDBY_RETRY)) {
                        return;
                    }
                    continue;
                }
                standingBySince = null; // it ran, or failed for another reason: either way this node no longer stands by
                lastError = "pg_receivewal exited with status " + exit + ": " + stderr.text();
                LOG.warn("WAL archive of {}: {}; restarting in {} s", config.name(), lastError, backoff.toSeconds());
                if (serverLostWal(stderr.text())) {
                    startOverAtServerPosition(stderr.text());
                }
                if (Duration.between(started, clock.instant()).compareTo(Duration.ofMinutes(1)) > 0) {
                    backoff = Duration.ofSeconds(1); // it ran a while: this is a new failure, not the same one again
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                receiverUp = false;
                if (downSince == null) {
                    downSince = clock.instant();
                }
                lastError = e.getMessage();
                LOG.warn("WAL archive of {}: {}; retrying in {} s", config.name(), lastError, backoff.toSeconds());
            }
            if (!pause()) {
                return;
            }
        }
    }

    /**
     * Whether pg_receivewal streams: it runs, and, on a node that stood by, has run for
     * {@link #TAKEOVER} (a start that finds the slot still taken exits within milliseconds).
     */
    private boolean streaming() {
        return receiverUp && (standingBySince == null
                || !clock.instant().isBefore(receiverStartedAt.plus(TAKEOVER)));
    }

    /** Whether pg_receivewal stopped because another client streams the slot ("replication slot ... is active for PID"). */
    static boolean slotHeldElsewhere(String stderr) {
        return stderr.contains("is active for PID");
    }

    private boolean sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return !stopping;
    }

    /**
     * Takes the archive's status from storage when it is ahead of this node's (another node
     * archived meanwhile); keeps this node's when storage is behind (a write that failed).
     * Without this, a node taking over would take the other node's segments for a gap.
     */
    private synchronized void refreshStatus() {
        WalArchive.Status mine = status;
        WalArchive.Status stored;
        try {
            stored = archive.status();
        } catch (IOException e) {
            LOG.debug("WAL archive of {}: cannot read status.json: {}", config.name(), e.getMessage());
            return;
        }
        if (stored == null || mine == null) {
            return;
        }
        boolean ahead = mine.lastSegment() == null ? stored.lastSegment() != null || later(stored.coveredUntil(), mine.coveredUntil())
                : stored.lastSegment() != null && (stored.lastSegment().compareTo(mine.lastSegment()) > 0
                        || stored.lastSegment().equals(mine.lastSegment()) && later(stored.coveredUntil(), mine.coveredUntil()));
        if (ahead || stored.gaps().size() > mine.gaps().size()) {
            status = stored;
        }
    }

    private static boolean later(Instant a, Instant b) {
        return a != null && (b == null || a.isAfter(b));
    }

    private static final java.util.regex.Pattern REMOVED = java.util.regex.Pattern.compile(
            "requested WAL segment ([0-9A-F]{24}) has already been removed");
    /** The removed segment the receiver last had to start over from (null: none). */
    private volatile String startedOverAt;

    /** Whether pg_receivewal stopped because the server no longer has the WAL it must continue from. */
    static boolean serverLostWal(String stderr) {
        return stderr.contains("has already been removed") || stderr.contains("has been invalidated")
                || stderr.contains("was invalidated");
    }

    /**
     * The server removed WAL the archive does not hold (the slot was dropped or invalidated while the
     * receiver was away). Streaming can only go on from where the server is now: store what the
     * spool holds, empty it, recreate an invalidated slot, and let the next start begin at the slot's
     * position. The first segment stored after that records the gap ({@link #continuity}).
     */
    private void startOverAtServerPosition(String why) {
        java.util.regex.Matcher removed = REMOVED.matcher(why);
        String segment = removed.find() ? removed.group(1) : null;
        // Asked for the same removed segment again after the spool was emptied: the slot itself
        // points at it, so only a new slot lets streaming go on.
        boolean slotStale = why.contains("invalidated") || segment != null && segment.equals(startedOverAt);
        startedOverAt = segment;
        try {
            upload(true);
            List<Path> left;
            try (Stream<Path> list = Files.list(spool)) {
                left = list.toList();
            }
            if (left.stream().map(f -> f.getFileName().toString())
                    .anyMatch(n -> Wal.SEGMENT.matcher(n).matches() || Wal.HISTORY.matcher(n).matches())) {
                // A completed file is still here, so the pass stopped early (a conflict): nothing is thrown away.
                LOG.error("WAL archive of {}: the server no longer has the WAL after the archive's end, and the spool still holds "
                        + "files that are not stored ({}); see lastError", config.name(), left);
                return;
            }
            for (Path file : left) {
                if (file.getFileName().toString().endsWith(".partial")) {
                    Files.delete(file); // stored by upload(true) just now (or already, unchanged)
                }
            }
            if (slotStale) {
                List<String> drop = new ArrayList<>(connection("pg_receivewal"));
                drop.addAll(List.of("--slot=" + config.slot(), "--drop-slot"));
                tools.run(drop, 60);
            }
            LOG.error("WAL archive of {}: the server no longer has the WAL after the archive's end ({}; spool held {}{}); streaming "
                    + "starts again from the server's position, the stretch in between is lost and recorded as a gap", config.name(),
                    why.strip(), left.stream().map(f -> f.getFileName().toString()).toList(), slotStale ? ", slot recreated" : "");
        } catch (IOException e) {
            LOG.warn("WAL archive of {}: cannot start over at the server's position yet: {}", config.name(), e.getMessage());
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
        tools.run(command, 60);
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
        if (standingBySince != null && streaming()) {
            standingBySince = null;
            LOG.info("WAL archive of {}: slot {} was free; this node streams it now", config.name(), config.slot());
        }
        if (standingBySince != null && !clock.instant().isBefore(standbyStatusReadAt.plus(STANDBY_RETRY))) {
            standbyStatusReadAt = clock.instant();
            refreshStatus(); // the streaming node's reach, for this node's window and health
        }
        requestWantedBaseBackup();
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
        Instant sampledAt = clock.instant();
        ServerPositions.Positions sampled = stopping ? server.closed() : server.sample(0);
        if (sampled != null) {
            samples.addLast(new Sample(sampledAt, sampled.current()));
            while (samples.size() > 600) {
                samples.pollFirst();
            }
        }
        boolean storedAny = false;
        for (Path file : files) {
            String name = file.getFileName().toString();
            try {
                if (Wal.HISTORY.matcher(name).matches()) {
                    archive.store(file, archive.historyKey(name), true);
                } else if (Wal.SEGMENT.matcher(name).matches()) {
                    s = continuity(s, name);
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
            if (Wal.SEGMENT.matcher(name).matches()) {
                // A stored full segment is archived to its end: the lag counts from there, not only from the last partial upload.
                archivedLsn = Math.max(archivedLsn, (Wal.segmentNumber(name, segmentSize) + 1) * segmentSize);
            }
        }
        Path partial = files.stream().filter(f -> f.getFileName().toString().endsWith(".partial")).reduce((a, b) -> b).orElse(null);
        s = storeEndedTimelines(s, files, partial);
        Instant now = clock.instant();
        Process streaming = receiver;
        if (partial != null && (force || !now.isBefore(lastPartialUpload.plus(config.partialUploadEvery())))) {
            // A commit made before readFrom lies before the server's position read just after it; it
            // is in the segments stored above or in this file once the receiver has flushed that far
            // (the slot's position, read after a short pause, before the file is read). The reach
            // advances only that far: a receiver that is alive but not receiving (a stalled
            // connection) advances nothing, and nothing advances while the server cannot be asked.
            Instant readFrom = clock.instant();
            boolean wasStreaming = streaming != null && streaming.isAlive();
            ServerPositions.Positions before = stopping ? server.closed() : server.sample(50);
            String segment = partial.getFileName().toString().substring(0, 24);
            s = continuity(s, segment);
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
            Instant covered = s.coveredUntil();
            // Only the server's word counts: the slot's flushed position (what pg_receivewal confirmed,
            // alive or not). A file's mtime proves nothing: a restarted receiver rewrites the old
            // timeline's segment after a promotion while the server already commits on the new one.
            if (before != null && before.flushed() >= 0) {
                Instant reached = before.flushed() >= before.current() ? readFrom : null;
                while (!samples.isEmpty() && samples.peekFirst().lsn() <= before.flushed()) {
                    Instant at = samples.pollFirst().at();
                    reached = latest(reached, at);
                }
                covered = latest(covered, reached);
            }
            s = s.reaching(Wal.timeline(segment), s.lastSegment(), segment, covered, s.gaps());
            status = s;
            if (stillStreaming && before != null) {
                archivedLsn = before.flushed();
            }
            archive.writeStatus(s);
        } else if (storedAny) {
            archive.writeStatus(s);
        }
    }

    /**
     * When the server moved to a new timeline (a promotion), pg_receivewal leaves the old timeline's
     * last segment as {@code .partial} for good and goes on with the new one. Such a file is stored
     * as it is (the new timeline's first segment holds the same WAL up to the switch, and restores
     * follow the history onto it) and then leaves the spool.
     */
    private WalArchive.Status storeEndedTimelines(WalArchive.Status s, List<Path> files, Path newest) throws IOException {
        int current = Math.max(s.timeline(), newest == null ? 0 : Wal.timeline(newest.getFileName().toString()));
        for (Path file : files) {
            String name = file.getFileName().toString();
            if (file.equals(newest) || !name.endsWith(".partial") || !Wal.SEGMENT.matcher(name.substring(0, 24)).matches()
                    || Wal.timeline(name) >= current || !Files.exists(file)) {
                continue;
            }
            try {
                archive.store(file, archive.partialKey(name.substring(0, 24)), false);
            } catch (IOException e) {
                failed.mark();
                throw e;
            }
            uploaded.mark();
            Files.delete(file);
            LOG.info("WAL archive of {}: timeline {} ended (the server moved to timeline {}); its last segment {} is stored as it "
                    + "ended", config.name(), Wal.timeline(name), current, name);
        }
        return s;
    }

    /**
     * Checks that {@code segment} continues the archive: at most the segment after the newest one
     * stored whole (or the partial one, before any is whole). A later segment means the WAL in between never reached
     * storage (the server removed it while the receiver was away): the gap is recorded in the status
     * (restores refuse points behind it), logged, counted, and a base backup is asked for at once so
     * the window starts again after it.
     */
    private WalArchive.Status continuity(WalArchive.Status s, String segment) {
        String expected = s.lastSegment() != null ? Wal.next(s.lastSegment(), segmentSize) : s.partialSegment();
        // By segment number: a new timeline (a promotion) starts again in the segment of its switch point.
        if (expected == null || Wal.segmentNumber(segment, segmentSize) <= Wal.segmentNumber(expected, segmentSize)) {
            return s;
        }
        String from = expected;
        String to = Wal.previous(segment, segmentSize);
        Instant now = clock.instant();
        WalArchive.Gap gap = new WalArchive.Gap(from, to, now, "the server removed this WAL before the receiver had it "
                + "(replication slot dropped or invalidated)", s.coveredUntil());
        List<WalArchive.Gap> all = new ArrayList<>(s.gaps());
        all.add(gap);
        gaps.mark();
        lastError = "WAL gap " + from + ".." + to + ": no point after " + s.coveredUntil()
                + " is recoverable from earlier base backups; a base backup is taken now";
        LOG.error("WAL archive of {}: {}", config.name(), lastError);
        baseBackupWanted = "wal-archive: gap " + from + ".." + to;
        // The chain goes on after the gap: the stretch is recorded, not waited for again.
        WalArchive.Status withGap = s.reaching(s.timeline(), to, null, s.coveredUntil(), all);
        status = withGap;
        try {
            archive.writeStatus(withGap); // at once: a restore must not be planned across it meanwhile
        } catch (IOException e) {
            LOG.warn("WAL archive of {}: cannot record the gap in status.json yet ({}); the next pass writes it", config.name(),
                    e.getMessage());
        }
        return withGap;
    }

    /** Asks for the base backup a gap calls for until the service has started one. */
    private void requestWantedBaseBackup() {
        String reason = baseBackupWanted;
        if (reason == null) {
            return;
        }
        try {
            requests.requestNow(config.name(), reason);
            baseBackupWanted = null;
            LOG.info("WAL archive of {}: base backup started after the gap", config.name());
        } catch (RuntimeException e) {
            LOG.debug("WAL archive of {}: base backup after the gap not started yet: {}", config.name(), e.getMessage());
        }
    }

    /** After a full segment is stored: it is the newest, and no longer the partial one. */
    private WalArchive.Status withSegment(WalArchive.Status s, String segment) {
        String last = s.lastSegment() == null || segment.compareTo(s.lastSegment()) > 0 ? segment : s.lastSegment();
        return s.reaching(Wal.timeline(last), last, segment.equals(s.partialSegment()) ? null : s.partialSegment(), s.coveredUntil(),
                s.gaps());
    }

    /**
     * Records that retention deletes the WAL before the base backup that started at {@code from}
     * (segment {@code fromSegment}), before any of it is deleted, so no restore is planned across it.
     */
    synchronized void retainFrom(Instant from, String fromSegment) throws IOException {
        WalArchive.Status s = status;
        if (s == null) {
            throw new IOException("the WAL archive of " + config.name() + " is not identified yet");
        }
        if (s.retainedFrom() != null && !from.isAfter(s.retainedFrom())) {
            return;
        }
        WalArchive.Status retained = s.retained(from, fromSegment);
        archive.writeStatus(retained);
        status = retained;
    }

    private static Instant latest(Instant a, Instant b) {
        return a == null ? b : b == null || !b.isAfter(a) ? a : b;
    }

    /** Bytes of WAL the server has written that storage does not hold yet; -1 when unknown. */
    long archiveLagBytes() {
        ServerPositions.Positions p = server.last();
        return p == null || archivedLsn < 0 ? -1 : Math.max(0, p.current() - archivedLsn);
    }

    /** See {@link ServerPositions#slotSafeWalBytes()}. */
    long slotSafeWalBytes() {
        return server.slotSafeWalBytes();
    }

    /** See {@link ServerPositions#slotRetainedBytes()}. */
    long slotRetainedBytes() {
        return server.slotRetainedBytes();
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
        } finally {
            synchronized (this) {
                server.close();
            }
        }
    }
}
