package dev.backstop.source.pgcluster;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.MetricName;
import dev.backstop.source.SourceCondition;
import dev.backstop.source.SourceEnvironment;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Streams a cluster's WAL into storage for as long as the service runs, in three parts that each
 * own one published value: the receiver supervisor ({@link WalReceiver}, {@link ReceiverState}),
 * the segment uploader ({@link WalUploader}, {@link ArchiveReach}, a pass every second) and the
 * server-position sampler ({@link ServerPositions}, its positions, between passes). What they
 * publish is read once into an {@link ArchiverView}, from which {@link ArchiverHealth} derives
 * the health conditions and the API state. This class builds and starts them, and answers the
 * base backups', retention's and the window's questions.
 */
final class WalArchiver implements Managed {
    private final ClusterSourceFactory config;
    private final Path spool;
    private final WalArchive archive;
    private final ScheduledExecutorService uploads;
    private final ScheduledExecutorService sampler;
    private final ServerPositions server;
    private final WalUploader uploader;
    private final WalReceiver receiver;
    private volatile boolean started;
    private volatile boolean stopping;

    WalArchiver(ClusterSourceFactory config, PgTools tools, WalArchive archive, Path spool, MetricRegistry metrics, Clock clock,
            ScheduledExecutorService uploads, ScheduledExecutorService sampler, ExecutorService supervisor,
            SourceEnvironment.SnapshotRequests requests) {
        this.config = config;
        this.spool = spool;
        this.archive = archive;
        this.uploads = uploads;
        this.sampler = sampler;
        this.server = new ServerPositions(config, clock);
        this.uploader = new WalUploader(config, archive, spool, clock, server, this::receiverState, requests, metrics);
        this.receiver = new WalReceiver(config, tools, spool, clock, supervisor, uploader);
        String name = config.name();
        metrics.gauge(MetricName.of("backstop.wal.receiver.up", "source", name), () -> () -> receiver.state().streaming() ? 1 : 0);
        metrics.gauge(MetricName.of("backstop.wal.receiver.standby", "source", name),
                () -> () -> receiver.state().standingBySince() != null ? 1 : 0);
        metrics.gauge(MetricName.of("backstop.wal.spool.bytes", "source", name), () -> this::spoolBytes);
        metrics.gauge(MetricName.of("backstop.wal.archive.lag.bytes", "source", name), () -> this::archiveLagBytes);
        metrics.gauge(MetricName.of("backstop.replication.slot.retained.bytes", "source", name), () -> server::slotRetainedBytes);
        metrics.gauge(MetricName.of("backstop.replication.slot.safe.wal.size.bytes", "source", name), () -> server::slotSafeWalBytes);
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

    @Override
    public void start() throws Exception {
        started = true;
        Files.createDirectories(spool);
        receiver.start();
        uploads.scheduleWithFixedDelay(uploader::uploadQuietly, 1, 1, TimeUnit.SECONDS);
        sampler.scheduleWithFixedDelay(() -> {
            if (!stopping) {
                server.sampleIfOlderThan(Duration.ofSeconds(1));
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    /** Runs an upload pass now rather than at the next tick (a base backup waits for its end segment). */
    void uploadSoon() {
        if (started && !stopping) {
            uploader.uploadSoon(uploads);
        }
    }

    /** What the archiver knows now, each part's published value read once: the input of {@link ArchiverHealth}. */
    ArchiverView view() {
        ReceiverState r = receiver.state();
        ArchiveReach reach = uploader.reach();
        return new ArchiverView(r.streaming(), r.up(), r.standingBySince(), r.downSince(),
                ReceiverState.Problem.newest(r.error(), uploader.error()), spoolBytes(), reach.status(), server.last(),
                reach.archivedLsn(), archiveLagBytes(), server.slotRetainedBytes(), server.keepLimitBytes(), server.slotSafeWalBytes());
    }

    /** The receiver's state and the archive's reach, for the API ({@link ArchiverHealth#state}). */
    ArchiveState state() {
        return ArchiverHealth.state(view(), config.slot());
    }

    /** For {@code /health/detailed} ({@link ArchiverHealth#conditions}). */
    List<SourceCondition> conditions(Instant now) {
        return ArchiverHealth.conditions(view(), config, now);
    }

    long segmentSize() {
        return uploader.reach().segmentSize();
    }

    WalArchive archive() {
        return archive;
    }

    WalArchive.Status status() {
        return uploader.reach().status();
    }

    private ReceiverState receiverState() {
        return receiver.state();
    }

    /** See {@link WalUploader#retainFrom}. */
    void retainFrom(Instant from, String fromSegment) throws IOException {
        uploader.retainFrom(from, fromSegment);
    }

    /**
     * The first segment from {@code startLsn} to {@code endLsn} on {@code timeline} that storage does
     * not hold yet, or null when all are stored. Asks storage only once the archive has passed the end.
     */
    String firstMissing(int timeline, long startLsn, long endLsn) throws IOException {
        ArchiveReach r = uploader.reach();
        WalArchive.Status s = r.status();
        long size = r.segmentSize();
        if (s == null || size == 0) {
            return "the archive's status";
        }
        String first = Wal.segmentName(timeline, startLsn, size);
        String last = Wal.segmentName(timeline, endLsn, size);
        if (s.lastSegment() == null || s.lastSegment().compareTo(last) < 0) {
            return s.lastSegment() == null ? first : Wal.next(s.lastSegment(), size);
        }
        java.util.TreeSet<String> stored = archive.segments(timeline);
        for (String segment = first; segment.compareTo(last) <= 0; segment = Wal.next(segment, size)) {
            if (!stored.contains(segment)) {
                return segment;
            }
        }
        return null;
    }

    /** Bytes of WAL the server has written that storage does not hold yet; -1 when unknown. */
    long archiveLagBytes() {
        ServerPositions.Positions p = server.last();
        long archived = uploader.reach().archivedLsn();
        return p == null || archived < 0 ? -1 : Math.max(0, p.current() - archived);
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
        receiver.stop();
        uploader.stop();
    }
}
