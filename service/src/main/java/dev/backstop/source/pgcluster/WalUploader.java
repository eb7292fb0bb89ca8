package dev.backstop.source.pgcluster;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.MetricName;
import dev.backstop.source.SourceEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores what pg_receivewal writes into the spool: each completed segment and history file (zstd,
 * OpenPGP, conditional create, read back) and only then removes it from the spool; every
 * {@code partialUploadEvery} the segment being written as {@code .partial}; {@code status.json}
 * says how far the archive reaches. Notices gaps (a segment that does not continue the archive) and
 * asks for a base backup after one. Owns one value, {@link ArchiveReach}, replaced whole under the
 * pass's lock.
 */
final class WalUploader {
    private static final Logger LOG = LoggerFactory.getLogger(WalUploader.class);

    /** The server's flushed WAL position sampled every pass: a commit made before {@code at} lies before {@code lsn}. */
    private record Sample(Instant at, long lsn) {}

    private final ClusterSourceFactory config;
    private final WalArchive archive;
    private final Path spool;
    private final Clock clock;
    private final ServerPositions server;
    private final Supplier<ReceiverState> receiver;
    private final SourceEnvironment.SnapshotRequests requests;
    private final Meter uploaded;
    private final Meter failed;
    private final Meter conflicts;
    private final Meter gaps;

    private volatile ArchiveReach reach = ArchiveReach.UNKNOWN;
    private volatile ReceiverState.Problem error;
    /** Why a base backup is wanted at once (the WAL chain broke), until one has been started; else null. */
    private volatile String baseBackupWanted;
    private volatile boolean stopping;
    private final AtomicBoolean nudged = new AtomicBoolean();
    /** The pass's own bookkeeping, touched under its lock only. */
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();
    private Instant lastPartialUpload = Instant.EPOCH;
    private String lastPartialState = "";
    private Instant standbyStatusReadAt = Instant.EPOCH;

    WalUploader(ClusterSourceFactory config, WalArchive archive, Path spool, Clock clock, ServerPositions server,
            Supplier<ReceiverState> receiver, SourceEnvironment.SnapshotRequests requests, MetricRegistry metrics) {
        this.config = config;
        this.archive = archive;
        this.spool = spool;
        this.clock = clock;
        this.server = server;
        this.receiver = receiver;
        this.requests = requests;
        String name = config.name();
        this.uploaded = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "success"));
        this.failed = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "failure"));
        this.conflicts = metrics.meter(MetricName.of("backstop.wal.uploads", "source", name, "outcome", "conflict"));
        this.gaps = metrics.meter(MetricName.of("backstop.wal.gaps", "source", name));
    }

    ArchiveReach reach() {
        return reach;
    }

    ReceiverState.Problem error() {
        return error;
    }

    /** Records (or checks) the system id in {@code cluster.json}: WAL of two clusters never mixes. */
    synchronized void identify() throws Exception {
        WalArchive.ClusterIdentity server = ServerPositions.identify(config);
        WalArchive.Status status = archive.open(server, config.name(), config.host() + ":" + config.port());
        reach = new ArchiveReach(status, server.segmentSize(), reach.archivedLsn());
    }

    /**
     * Takes the archive's status from storage when it is ahead of this node's (another node
     * archived meanwhile); keeps this node's when storage is behind (a write that failed).
     * Without this, a node taking over would take the other node's segments for a gap.
     */
    synchronized void refreshStatus() {
        WalArchive.Status mine = reach.status();
        WalArchive.Status stored;
        try {
            stored = archive.status();
        } catch (IOException e) {
            LOG.debug("WAL archive of {}: cannot read status.json: {}", config.name(), e.getMessage());
            return;
        }
        if (stored != null && mine != null && WalArchive.ahead(stored, mine)) {
            reach = reach.with(stored);
        }
    }

    /** The scheduled pass: never throws (a failure is the last error, and the next pass tries again). */
    void uploadQuietly() {
        if (receiver.get().standingBySince() != null && !clock.instant().isBefore(standbyStatusReadAt.plus(WalReceiver.STANDBY_RETRY))) {
            standbyStatusReadAt = clock.instant();
            refreshStatus(); // the streaming node's reach, for this node's window and health
        }
        requestWantedBaseBackup();
        try {
            upload(false);
        } catch (Exception e) {
            fail("upload: " + e.getMessage());
            LOG.warn("WAL archive of {}: {}", config.name(), error.message());
        }
    }

    /** Runs a pass now rather than at the next tick (a base backup waits for its end segment). */
    void uploadSoon(java.util.concurrent.Executor passes) {
        if (!stopping && nudged.compareAndSet(false, true)) { // at most one extra pass waiting
            passes.execute(() -> {
                nudged.set(false);
                uploadQuietly();
            });
        }
    }

    /**
     * One pass: completed files in name order (each removed from the spool only once stored and read
     * back), then the partial segment when {@code partialUploadEvery} has passed (or {@code force}).
     */
    synchronized void upload(boolean force) throws IOException {
        WalArchive.Status s = reach.status();
        if (s == null) {
            return; // not identified yet
        }
        long segmentSize = reach.segmentSize();
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
                fail(e.getMessage());
                LOG.error("WAL archive of {}: {}", config.name(), e.getMessage());
                return;
            } catch (IOException e) {
                failed.mark();
                throw e;
            }
            uploaded.mark();
            Files.delete(file);
            ArchiveReach r = reach.with(s);
            if (Wal.SEGMENT.matcher(name).matches()) {
                // A stored full segment is archived to its end: the lag counts from there, not only from the last partial upload.
                r = r.archivedTo(Math.max(r.archivedLsn(), (Wal.segmentNumber(name, segmentSize) + 1) * segmentSize));
            }
            reach = r;
            storedAny = true;
        }
        Path partial = files.stream().filter(f -> f.getFileName().toString().endsWith(".partial")).reduce((a, b) -> b).orElse(null);
        storeEndedTimelines(s, files, partial);
        Instant now = clock.instant();
        if (partial != null && (force || !now.isBefore(lastPartialUpload.plus(config.partialUploadEvery())))) {
            storePartial(s, partial, storedAny, now);
        } else if (storedAny) {
            archive.writeStatus(s);
        }
    }

    /**
     * Stores the segment being written and advances the reach. A commit made before readFrom lies
     * before the server's position read just after it; it is in the segments stored before or in
     * this file once the receiver has flushed that far (the slot's position, read after a short
     * pause, before the file is read). The reach advances only that far: a receiver that is alive but
     * not receiving (a stalled connection) advances nothing, and nothing advances while the server
     * cannot be asked.
     */
    private void storePartial(WalArchive.Status s, Path partial, boolean storedAny, Instant now) throws IOException {
        Instant readFrom = clock.instant();
        ReceiverState streaming = receiver.get();
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
        } catch (NoSuchFileException completedMeanwhile) {
            if (storedAny) {
                archive.writeStatus(s);
            }
            return; // pg_receivewal finished the segment: the next pass stores it whole
        } catch (IOException e) {
            failed.mark();
            throw e;
        }
        lastPartialUpload = now;
        ReceiverState after = receiver.get();
        boolean stillStreaming = streaming.up() && after.up() && after.run() == streaming.run();
        Instant covered = s.coveredUntil();
        // Only the server's word counts: the slot's flushed position (what pg_receivewal confirmed,
        // alive or not). A file's mtime proves nothing: a restarted receiver rewrites the old
        // timeline's segment after a promotion while the server already commits on the new one.
        if (before != null && before.flushed() >= 0) {
            Instant reached = before.flushed() >= before.current() ? readFrom : null;
            while (!samples.isEmpty() && samples.peekFirst().lsn() <= before.flushed()) {
                reached = latest(reached, samples.pollFirst().at());
            }
            covered = latest(covered, reached);
        }
        s = s.reaching(Wal.timeline(segment), s.lastSegment(), segment, covered, s.gaps());
        ArchiveReach r = reach.with(s);
        reach = stillStreaming && before != null ? r.archivedTo(before.flushed()) : r;
        archive.writeStatus(s);
    }

    /**
     * When the server moved to a new timeline (a promotion), pg_receivewal leaves the old timeline's
     * last segment as {@code .partial} for good and goes on with the new one. Such a file is stored
     * as it is (the new timeline's first segment holds the same WAL up to the switch, and restores
     * follow the history onto it) and then leaves the spool.
     */
    private void storeEndedTimelines(WalArchive.Status s, List<Path> files, Path newest) throws IOException {
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
    }

    /**
     * Checks that {@code segment} continues the archive: at most the segment after the newest one
     * stored whole (or the partial one, before any is whole). A later segment means the WAL in between
     * never reached storage (the server removed it while the receiver was away): the gap is recorded in
     * the status (restores refuse points behind it), logged, counted, and a base backup is asked for at
     * once so the window starts again after it.
     */
    private WalArchive.Status continuity(WalArchive.Status s, String segment) {
        long segmentSize = reach.segmentSize();
        String expected = s.lastSegment() != null ? Wal.next(s.lastSegment(), segmentSize) : s.partialSegment();
        // By segment number: a new timeline (a promotion) starts again in the segment of its switch point.
        if (expected == null || Wal.segmentNumber(segment, segmentSize) <= Wal.segmentNumber(expected, segmentSize)) {
            return s;
        }
        String from = expected;
        String to = Wal.previous(segment, segmentSize);
        WalArchive.Gap gap = new WalArchive.Gap(from, to, clock.instant(), "the server removed this WAL before the receiver had it "
                + "(replication slot dropped or invalidated)", s.coveredUntil());
        List<WalArchive.Gap> all = new ArrayList<>(s.gaps());
        all.add(gap);
        gaps.mark();
        fail("WAL gap " + from + ".." + to + ": no point after " + s.coveredUntil()
                + " is recoverable from earlier base backups; a base backup is taken now");
        LOG.error("WAL archive of {}: {}", config.name(), error.message());
        baseBackupWanted = "wal-archive: gap " + from + ".." + to;
        // The chain goes on after the gap: the stretch is recorded, not waited for again.
        WalArchive.Status withGap = s.reaching(s.timeline(), to, null, s.coveredUntil(), all);
        reach = reach.with(withGap);
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
    private static WalArchive.Status withSegment(WalArchive.Status s, String segment) {
        String last = s.lastSegment() == null || segment.compareTo(s.lastSegment()) > 0 ? segment : s.lastSegment();
        return s.reaching(Wal.timeline(last), last, segment.equals(s.partialSegment()) ? null : s.partialSegment(), s.coveredUntil(),
                s.gaps());
    }

    /**
     * Records that retention deletes the WAL before the base backup that started at {@code from}
     * (segment {@code fromSegment}), before any of it is deleted, so no restore is planned across it.
     */
    synchronized void retainFrom(Instant from, String fromSegment) throws IOException {
        WalArchive.Status s = reach.status();
        if (s == null) {
            throw new IOException("the WAL archive of " + config.name() + " is not identified yet");
        }
        if (s.retainedFrom() != null && !from.isAfter(s.retainedFrom())) {
            return;
        }
        WalArchive.Status retained = s.retained(from, fromSegment);
        archive.writeStatus(retained);
        reach = reach.with(retained);
    }

    /**
     * Stores what the spool holds, partial segment included, and empties it, so streaming can start
     * over at the server's position. Returns the names it held, or null (nothing thrown away) when a
     * completed file is still there because the pass stopped early (a conflict).
     */
    synchronized List<String> storeAndEmptySpool() throws IOException {
        upload(true);
        List<Path> left;
        try (Stream<Path> list = Files.list(spool)) {
            left = list.toList();
        }
        List<String> names = left.stream().map(f -> f.getFileName().toString()).toList();
        if (names.stream().anyMatch(n -> Wal.SEGMENT.matcher(n).matches() || Wal.HISTORY.matcher(n).matches())) {
            LOG.error("WAL archive of {}: the server no longer has the WAL after the archive's end, and the spool still holds "
                    + "files that are not stored ({}); see lastError", config.name(), names);
            return null;
        }
        for (Path file : left) {
            if (file.getFileName().toString().endsWith(".partial")) {
                Files.delete(file); // stored by upload(true) just now (or already, unchanged)
            }
        }
        return names;
    }

    /** The last pass: stores what the spool holds, partial segment included, and closes the server connection. */
    void stop() {
        stopping = true;
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

    private void fail(String message) {
        error = new ReceiverState.Problem(message, clock.instant());
    }

    private static Instant latest(Instant a, Instant b) {
        return a == null ? b : b == null || !b.isAfter(a) ? a : b;
    }
}
