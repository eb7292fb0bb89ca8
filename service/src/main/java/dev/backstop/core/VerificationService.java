package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.RestoreRow;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.MetricName;
import dev.backstop.model.RestorePhase;
import dev.backstop.model.RestoreRequest;
import dev.backstop.model.SnapshotLayout;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.VerificationRecord;
import dev.backstop.model.VerifyConfig;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.SourceRestorer;
import dev.backstop.storage.StorageTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verification drills: the newest COMPLETED snapshot of a source goes through the restore path
 * (download, SHA-256, OpenPGP integrity, full decompression) into a scratch database, file or
 * directory; database sources must then answer the probe query with at least one row. The scratch
 * copy is always removed, and the outcome is recorded on the snapshot ({@code verified_at},
 * {@code verify_status}) for retention's floor and for health.
 */
public final class VerificationService {
    private static final Logger LOG = LoggerFactory.getLogger(VerificationService.class);
    public static final String ACTOR = "verification-drill";

    /** A drill's outcome. */
    public record Outcome(String snapshotId, boolean passed, String detail) {}

    private final Map<String, SourceFactory> sources;
    private final SnapshotDao snapshots;
    private final RestoreService restores;
    private final Path staging;
    private final Clock clock;
    private final MetricRegistry metrics;
    private final Map<String, AtomicLong> lastVerified = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> lastRtoMillis = new ConcurrentHashMap<>();
    private final PointInTimeWindows windows;

    private final Map<String, StorageTarget> targets;
    private final ObjectMapper mapper;

    private final Map<String, SourceRestorer> restorers;

    public VerificationService(Map<String, SourceFactory> sources, Map<String, SourceRestorer> restorers, PointInTimeWindows windows,
            SnapshotDao snapshots, RestoreService restores, Path staging, Clock clock, MetricRegistry metrics,
            Map<String, StorageTarget> targets, ObjectMapper mapper) {
        this.restorers = Map.copyOf(restorers);
        this.windows = windows;
        this.targets = Map.copyOf(targets);
        this.mapper = mapper;
        this.sources = Map.copyOf(sources);
        this.snapshots = snapshots;
        this.restores = restores;
        this.staging = staging;
        this.clock = clock;
        this.metrics = metrics;
        for (SourceFactory source : sources.values()) {
            if (source.verify() != null) {
                AtomicLong holder = new AtomicLong();
                lastVerified.put(source.name(), holder);
                snapshots.newestVerified(source.name()).ifPresent(row -> holder.set(row.verifiedAt().getEpochSecond()));
                metrics.gauge(MetricName.of("backstop.snapshot.last.verified.timestamp.seconds", "source", source.name()),
                        () -> holder::get);
                SourceRestorer restorer = restorers.get(source.name());
                if (restorer != null && restorer.archivedLog().isPresent()) {
                    rtoHolder(source.name());
                }
            }
        }
    }

    /**
     * Drills a source: for a type that restores to points in time and has a window, a random point
     * inside it ({@link #verifyPointInTime}); otherwise the newest COMPLETED snapshot.
     */
    public Outcome verifyNewest(String sourceName) {
        SourceRestorer restorer = restorers.get(sourceName);
        if (restorer != null && restorer.archivedLog().isPresent()) {
            Optional<PointInTimeWindows.Window> window = windows.window(sourceName);
            if (window.isPresent() && window.get().recoverableFrom() != null && window.get().recoverableUntil() != null) {
                return verifyPointInTime(sourceName, window.get());
            }
        }
        SnapshotRow newest = snapshots.list(sourceName, SnapshotStatus.COMPLETED, null, 1).stream().findFirst()
                .orElseThrow(() -> BackstopException.conflict("source '" + sourceName + "' has no COMPLETED snapshot to verify"));
        return verify(newest);
    }

    /**
     * A point-in-time drill: restores a random point between {@code recoverableFrom} and
     * {@code recoverableUntil} into a scratch target, from the base backup the restore service picks
     * for it, exactly as an operator's restore would; the restore itself fails when the server
     * replays a commit after the point or the WAL to it is missing. Records the outcome on that base
     * backup and the restore's duration as the RTO.
     */
    Outcome verifyPointInTime(String sourceName, PointInTimeWindows.Window window) {
        SourceFactory source = sources.get(sourceName);
        VerifyConfig config = source.verify() == null ? new VerifyConfig("0 0 0 * * ?", null, null, null, null) : source.verify();
        Instant point = drillPoint(window, config, clock.instant());
        String scratch = "backstop_verify_pitr_" + Long.toString(point.toEpochMilli(), 36);
        SourceRestorer.Drill drill = restorers.get(sourceName).drill(scratch, scratchDirectory());
        Outcome outcome;
        String snapshotId = null;
        Instant provenPoint = null;
        long started = System.nanoTime();
        try {
            RestoreRow restore = restores.restoreNow(new RestoreRequest(null, sourceName, point.toString(), Map.copyOf(drill.scratchTarget()), "new",
                    false, false, false), ACTOR);
            snapshotId = restore.snapshotId();
            long rto = (System.nanoTime() - started) / 1_000_000;
            String what = "point-in-time drill to " + point + " (window " + window.recoverableFrom() + " .. " + window.recoverableUntil()
                    + "): restore " + restore.id();
            if (restore.phase() != RestorePhase.COMPLETED) {
                outcome = new Outcome(snapshotId, false, what + " failed: " + restore.error());
            } else {
                provenPoint = point;
                rtoHolder(sourceName).set(rto);
                outcome = new Outcome(snapshotId, true, what + " completed in " + rto / 1000.0 + " s (RTO); " + restore.detail() + "; "
                        + drill.probe(config.probeQuery()));
            }
        } catch (Exception e) {
            outcome = new Outcome(snapshotId, false, "point-in-time drill to " + point + ": " + SnapshotService.reason(e));
        } finally {
            drill.remove();
        }
        if (snapshotId == null) { // no restore row: nothing to record the outcome on
            metrics.meter(MetricName.of("backstop.verifications", "source", sourceName, "outcome", "failed")).mark();
            LOG.error("Point-in-time drill of {} FAILED: {}", sourceName, outcome.detail());
            return outcome;
        }
        if (outcome.passed() && provenPoint != null) {
            // Down to the catalog's microseconds, never up: what is recorded is at or before the point restored.
            snapshots.recordVerifiedPoint(snapshotId, provenPoint.truncatedTo(java.time.temporal.ChronoUnit.MICROS));
        }
        return record(snapshots.find(snapshotId).orElseThrow(), outcome);
    }

    /**
     * Where a point-in-time drill restores to: the newest recoverable point while the newest point
     * a drill has proven ({@code verifiedUntil}) is missing or older than half of
     * {@code verify.maxAge}, so that what is proven keeps up with what is archived; otherwise a
     * random point of the window, so that over time every part of it is tried.
     */
    static Instant drillPoint(PointInTimeWindows.Window window, VerifyConfig config, Instant now) {
        java.time.Duration half = java.time.Duration.ofMillis(config.maxAge().toMilliseconds() / 2);
        if (window.verifiedUntil() == null || window.verifiedUntil().isBefore(now.minus(half))) {
            return window.recoverableUntil();
        }
        long span = Math.max(0, window.recoverableUntil().toEpochMilli() - window.recoverableFrom().toEpochMilli());
        return window.recoverableFrom().plusMillis(span == 0 ? 0 : java.util.concurrent.ThreadLocalRandom.current().nextLong(span + 1));
    }

    private AtomicLong rtoHolder(String source) {
        return lastRtoMillis.computeIfAbsent(source, name -> {
            AtomicLong holder = new AtomicLong(-1);
            metrics.gauge(MetricName.of("backstop.verification.rto.seconds", "source", name),
                    () -> () -> holder.get() < 0 ? -1 : holder.get() / 1000.0);
            return holder;
        });
    }

    public Outcome verify(SnapshotRow snapshot) {
        SourceFactory source = sources.get(snapshot.sourceName());
        if (source == null) {
            throw BackstopException.notFound("no source " + snapshot.sourceName());
        }
        VerifyConfig config = source.verify() == null ? new VerifyConfig("0 0 0 * * ?", null, null, null, null) : source.verify();
        String scratch = "backstop_verify_" + snapshot.id().toLowerCase(Locale.ROOT);
        SourceRestorer.Drill drill = restorers.get(source.name()).drill(scratch, scratchDirectory());
        Outcome outcome;
        try {
            RestoreRow restore = restores.restoreNow(new RestoreRequest(snapshot.id(), drill.scratchTarget(), "new", false, false,
                    false), ACTOR);
            if (restore.phase() != RestorePhase.COMPLETED) {
                outcome = new Outcome(snapshot.id(), false, "restore " + restore.id() + " failed: " + restore.error());
            } else {
                outcome = new Outcome(snapshot.id(), true, "restore " + restore.id() + " completed; " + drill.probe(config.probeQuery()));
            }
        } catch (Exception e) {
            outcome = new Outcome(snapshot.id(), false, SnapshotService.reason(e));
        } finally {
            drill.remove();
        }
        return record(snapshot, outcome);
    }

    /** Records a drill's outcome on the snapshot it restored (catalog, storage, metrics, log). */
    private Outcome record(SnapshotRow snapshot, Outcome outcome) {
        Instant at = clock.instant();
        String status = outcome.passed() ? "PASSED" : "FAILED";
        snapshots.recordVerification(snapshot.id(), at, status, truncate(outcome.detail()));
        storeRecord(snapshot, new VerificationRecord(VerificationRecord.FORMAT_VERSION, snapshot.id(), at, status,
                truncate(outcome.detail())));
        metrics.meter(MetricName.of("backstop.verifications", "source", snapshot.sourceName(), "outcome",
                outcome.passed() ? "passed" : "failed")).mark();
        if (outcome.passed()) {
            AtomicLong holder = lastVerified.get(snapshot.sourceName());
            if (holder != null) {
                holder.set(clock.instant().getEpochSecond());
            }
            LOG.info("Verification of snapshot {} of {} passed: {}", snapshot.id(), snapshot.sourceName(), outcome.detail());
        } else {
            LOG.error("Verification of snapshot {} of {} FAILED: {}", snapshot.id(), snapshot.sourceName(), outcome.detail());
        }
        return outcome;
    }

    /** Drills restore into the staging directory (created if needed), absolute so restores accept it. */
    private Path scratchDirectory() {
        Path base = staging.toAbsolutePath().normalize();
        try {
            Files.createDirectories(base);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot create the staging directory " + base + " for a drill", e);
        }
        return base;
    }

    /**
     * Writes the drill's outcome beside the manifest, for a catalog rebuilt from storage. The catalog
     * row is already updated; a store that is down only costs the record (logged), not the drill.
     */
    private void storeRecord(SnapshotRow snapshot, VerificationRecord record) {
        StorageTarget target = targets.get(snapshot.storageTarget());
        if (target == null || snapshot.manifestKey() == null) {
            return;
        }
        try {
            target.put(SnapshotLayout.verificationKey(snapshot.manifestKey()), mapper.writeValueAsBytes(record), "application/json");
        } catch (Exception e) {
            LOG.warn("Cannot store the verification record of snapshot {} in {}: {}; a catalog rebuilt from storage will "
                    + "not know this drill", snapshot.id(), target.name(), SnapshotService.reason(e));
        }
    }

    private static String truncate(String text) {
        return text.length() <= 4000 ? text : text.substring(0, 4000);
    }
}
