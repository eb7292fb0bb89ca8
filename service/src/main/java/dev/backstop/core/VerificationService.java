package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.api.RestoreRequest;
import dev.backstop.api.VerificationRecord;
import dev.backstop.storage.StorageTarget;
import java.time.Instant;
import dev.backstop.db.RestoreRow;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.metrics.MetricName;
import dev.backstop.schedule.VerifyConfig;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.h2.H2SourceFactory;
import dev.backstop.source.postgres.PostgresSourceFactory;
import dev.backstop.source.sqlite.SqliteSourceFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
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

    private final Map<String, StorageTarget> targets;
    private final ObjectMapper mapper;

    public VerificationService(Map<String, SourceFactory> sources, SnapshotDao snapshots, RestoreService restores, Path staging,
            Clock clock, MetricRegistry metrics, Map<String, StorageTarget> targets, ObjectMapper mapper) {
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
            }
        }
    }

    /** Drills the newest COMPLETED snapshot of a source. */
    public Outcome verifyNewest(String sourceName) {
        SnapshotRow newest = snapshots.list(sourceName, SnapshotStatus.COMPLETED, null, 1).stream().findFirst()
                .orElseThrow(() -> BackstopException.conflict("source '" + sourceName + "' has no COMPLETED snapshot to verify"));
        return verify(newest);
    }

    public Outcome verify(SnapshotRow snapshot) {
        SourceFactory source = sources.get(snapshot.sourceName());
        if (source == null) {
            throw BackstopException.notFound("no source " + snapshot.sourceName());
        }
        VerifyConfig config = source.verify() == null ? new VerifyConfig("0 0 0 * * ?", null, null, null) : source.verify();
        String scratch = "backstop_verify_" + snapshot.id().toLowerCase(Locale.ROOT);
        Map<String, String> target = scratchTarget(source, scratch);
        Outcome outcome;
        try {
            RestoreRow restore = restores.restoreNow(new RestoreRequest(snapshot.id(), target, "new", false, false, false), ACTOR);
            if (restore.phase() != RestorePhase.COMPLETED) {
                outcome = new Outcome(snapshot.id(), false, "restore " + restore.id() + " failed: " + restore.error());
            } else {
                String probe = probe(source, target, config.probeQuery());
                outcome = new Outcome(snapshot.id(), true, "restore " + restore.id() + " completed; " + probe);
            }
        } catch (Exception e) {
            outcome = new Outcome(snapshot.id(), false, SnapshotService.reason(e));
        } finally {
            dropScratch(source, target, scratch);
        }
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

    private Map<String, String> scratchTarget(SourceFactory source, String scratch) {
        Path base = staging.toAbsolutePath().normalize();
        try {
            Files.createDirectories(base);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot create the staging directory " + base + " for a drill", e);
        }
        if (source instanceof PostgresSourceFactory) {
            return Map.of("database", scratch);
        }
        if (source instanceof H2SourceFactory) {
            return Map.of("url", "jdbc:h2:" + base.resolve(scratch));
        }
        if (source instanceof SqliteSourceFactory) {
            return Map.of("path", base.resolve(scratch + ".sqlite").toString());
        }
        return Map.of("path", base.resolve(scratch).toString());
    }

    /** Runs the probe query against the scratch copy (database sources), or counts what was restored. */
    private String probe(SourceFactory source, Map<String, String> target, String query) throws Exception {
        if (source instanceof PostgresSourceFactory pg) {
            try (Connection c = restores.connections().postgres(pg, target.get("database"))) {
                return probe(c, query);
            }
        }
        if (source instanceof H2SourceFactory) {
            try (Connection c = DriverManager.getConnection(target.get("url") + ";IFEXISTS=TRUE", "sa", "")) {
                return probe(c, query);
            }
        }
        if (source instanceof SqliteSourceFactory) {
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + target.get("path"))) {
                return probe(c, query);
            }
        }
        try (Stream<Path> files = Files.walk(Path.of(target.get("path")))) {
            return files.count() - 1 + " entries restored";
        }
    }

    private static String probe(Connection c, String query) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rows = s.executeQuery(query)) {
            if (!rows.next()) {
                throw new IllegalStateException("probe query returned no rows: " + query);
            }
            return "probe query returned " + rows.getString(1);
        }
    }

    private void dropScratch(SourceFactory source, Map<String, String> target, String scratch) {
        try {
            if (source instanceof PostgresSourceFactory pg) {
                restores.dropDatabase(pg, scratch);
            } else if (source instanceof H2SourceFactory) {
                Path file = staging.toAbsolutePath().normalize().resolve(scratch);
                Files.deleteIfExists(Path.of(file + ".mv.db"));
                Files.deleteIfExists(Path.of(file + ".trace.db"));
            } else {
                RestoreService.deleteTree(Path.of(target.get("path")));
            }
        } catch (Exception e) {
            LOG.warn("Cannot remove the verification scratch copy {} of {}: {}", scratch, source.name(), e.getMessage());
        }
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
