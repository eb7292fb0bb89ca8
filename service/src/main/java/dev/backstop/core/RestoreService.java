package dev.backstop.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.backstop.api.Manifest;
import dev.backstop.api.RestoreRequest;
import dev.backstop.db.AuditDao;
import dev.backstop.db.AuditEvent;
import dev.backstop.db.RestoreDao;
import dev.backstop.db.RestoreRow;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.pipeline.OpenPgpDecryptor;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.directory.TarExtractor;
import dev.backstop.source.postgres.PostgresSourceFactory;
import dev.backstop.storage.StorageTarget;
import io.dropwizard.lifecycle.Managed;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Restores a snapshot: download the stored object to staging (after a free-space check), verify its
 * size and SHA-256 against the catalog and the manifest, decrypt (checking OpenPGP integrity) and
 * decompress, and only then touch the target. Any failure leaves the live target as it was.
 * Directory sources restore into a fresh sibling directory that is renamed into place; postgres
 * sources into a new database created for the purpose, with {@code pg_restore -j}.
 */
public final class RestoreService implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(RestoreService.class);
    public static final String INTERRUPTED = "interrupted: the service stopped during the restore";
    /** Backstop's own short-lived connections (health probes) carry this name and do not count as clients. */
    public static final String APPLICATION_NAME = "backstop";
    private static final long PROGRESS_EVERY = 8L << 20;

    private final Map<String, SourceFactory> sources;
    private final Map<String, StorageTarget> targets;
    private final SnapshotDao snapshots;
    private final RestoreDao restores;
    private final AuditDao audit;
    private final OpenPgpDecryptor decryptor;
    private final Path staging;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final TimeOrderedId ids;
    private final int pgRestoreJobs;
    private final ExecutorService executor;
    private final Map<String, String> busyTargets = new ConcurrentHashMap<>();
    private final com.codahale.metrics.MetricRegistry metrics;
    private final Node node;
    private volatile Replicator replicator;
    private volatile boolean stopping;
    /** pg_restore processes running now: they read a file, so they would outlive the JVM. */
    private final java.util.Set<Process> tools = ConcurrentHashMap.newKeySet();
    private final Map<String, Process> toolsByRestore = new ConcurrentHashMap<>();
    /** Restores an operator cancelled, with who did. */
    private final Map<String, String> cancelled = new ConcurrentHashMap<>();
    public static final String CANCELLED = "cancelled by ";
    /** Bytes done in the current phase of each running restore, by restore id, with its source (for the gauge). */
    private final Map<String, Map.Entry<String, Long>> inFlight = new ConcurrentHashMap<>();
    private volatile SourceConnections connections = SourceConnections.direct();

    /** Connections to source databases go through these (their resilience guards). */
    public void connectThrough(SourceConnections connections) {
        this.connections = connections;
    }

    public SourceConnections connections() {
        return connections;
    }

    /** Restores read from any target holding a copy, healthiest first. */
    public void readCopiesWith(Replicator replicator) {
        this.replicator = replicator;
    }

    public RestoreService(Node node, Map<String, SourceFactory> sources, Map<String, StorageTarget> targets, SnapshotDao snapshots,
            RestoreDao restores, AuditDao audit, OpenPgpDecryptor decryptor, Path staging, ObjectMapper mapper, Clock clock,
            com.codahale.metrics.MetricRegistry metrics) {
        this.metrics = metrics;
        this.node = node;
        this.sources = Map.copyOf(sources);
        this.targets = Map.copyOf(targets);
        this.snapshots = snapshots;
        this.restores = restores;
        this.audit = audit;
        this.decryptor = decryptor;
        this.staging = staging;
        this.mapper = mapper;
        this.clock = clock;
        this.ids = new TimeOrderedId(clock);
        this.pgRestoreJobs = Math.max(1, Runtime.getRuntime().availableProcessors());
        this.executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "restore");
            t.setDaemon(true);
            return t;
        });
        for (String source : this.sources.keySet()) {
            metrics.gauge(dev.backstop.metrics.MetricName.of("backstop.restore.progress.bytes", "source", source),
                    () -> () -> inFlight.values().stream().filter(e -> e.getKey().equals(source)).mapToLong(Map.Entry::getValue).sum());
        }
    }

    private void inFlight(String restoreId, long done) {
        inFlight.computeIfPresent(restoreId, (id, entry) -> Map.entry(entry.getKey(), done));
    }

    /** Marks restores a crash interrupted as FAILED and removes their staging leftovers. */
    @Override
    public void start() throws IOException {
        int failed = node.clustered() ? restores.failUnfinishedOf(node.id(), clock.instant(), INTERRUPTED)
                : restores.failUnfinished(clock.instant(), INTERRUPTED);
        if (failed > 0) {
            LOG.warn("Marked {} restores FAILED that were unfinished when the service last stopped", failed);
        }
        if (Files.isDirectory(staging)) {
            try (Stream<Path> entries = Files.list(staging)) {
                for (Path leftover : entries.filter(p -> p.getFileName().toString().startsWith("restore-")).toList()) {
                    deleteTree(leftover);
                }
            }
        }
    }

    /**
     * Stops taking restores; one that is downloading fails at its next progress report (its row ends
     * FAILED, the next start cleans its staging). No interrupts: they would close an H2 catalog's file.
     */
    @Override
    public void stop() throws InterruptedException {
        stopping = true;
        executor.shutdown();
        if (!executor.awaitTermination(20, TimeUnit.SECONDS)) {
            // Still applying: end pg_restore so its thread drops the half-restored database and exits.
            tools.forEach(Process::destroy);
            executor.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** Validates and queues a restore; returns its QUEUED row. */
    public RestoreRow request(RestoreRequest request, String actor) {
        return request(request, actor, true);
    }

    private RestoreRow request(RestoreRequest request, String actor, boolean background) {
        SnapshotRow snapshot = snapshots.find(TimeOrderedId.require(request.snapshotId(), "snapshot"))
                .orElseThrow(() -> BackstopException.notFound("no snapshot " + request.snapshotId()));
        if (snapshot.status() != SnapshotStatus.COMPLETED) {
            throw BackstopException.conflict("snapshot " + snapshot.id() + " is " + snapshot.status() + "; only COMPLETED snapshots restore");
        }
        SourceFactory source = sources.get(snapshot.sourceName());
        if (source == null) {
            throw invalid("source '" + snapshot.sourceName() + "' of snapshot " + snapshot.id() + " is no longer configured");
        }
        RestoreMode mode = RestoreMode.valueOf(request.mode().toUpperCase(Locale.ROOT));
        TargetCheck check = checkTarget(source, request, mode);
        String targetKey = check.key();
        String id = ids.next();
        String busy = busyTargets.putIfAbsent(targetKey, id);
        if (busy != null) {
            throw BackstopException.conflict("restore " + busy + " is already running into " + targetKey);
        }
        try {
            RestoreRow row = new RestoreRow(id, snapshot.id(), RestorePhase.QUEUED, mode, request.dryRun(),
                    mapper.writeValueAsString(request.target()), actor, 0, snapshot.storedBytes(), clock.instant(), null, null,
                    null, null);
            restores.insert(row);
            restores.assignNode(id, node.id());
            audit(actor, "restore.requested", id, AuditOutcome.REQUESTED,
                    "snapshot " + snapshot.id() + " into " + targetKey + " (" + request.mode() + (request.dryRun() ? ", dry run" : "") + ")");
            if (background) {
                executor.submit(() -> execute(row, snapshot, source, request, check));
            } else {
                execute(row, snapshot, source, request, check);
            }
            return row;
        } catch (IOException | RuntimeException e) {
            busyTargets.remove(targetKey, id);
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    /** Runs a restore on the calling thread (the CLI, with the service stopped) and returns the final row. */
    public RestoreRow restoreNow(RestoreRequest request, String actor) {
        RestoreRow queued = request(request, actor, false);
        return restores.find(queued.id()).orElseThrow();
    }

    public RestoreRow find(String id) {
        return restores.find(TimeOrderedId.require(id, "restore")).orElseThrow(() -> BackstopException.notFound("no restore " + id));
    }

    /**
     * What a target must be for a mode, checked when the request arrives so that a mistake is a 409
     * or 422 at once, not a FAILED restore later. Conditions that may change before the restore
     * runs (clients connected, an H2 file open) refuse a real restore; a dry run reports them
     * instead. The apply step checks them again.
     */
    private record TargetCheck(String key, List<String> wouldRefuse) {}

    private TargetCheck checkTarget(SourceFactory source, RestoreRequest request, RestoreMode mode) {
        Map<String, String> target = request.target();
        List<String> busy = new ArrayList<>();
        String key;
        if (source instanceof dev.backstop.source.directory.DirectorySourceFactory) {
            requireKeys(target, "path");
            Path p = absolutePath(target, "path", "directory");
            if (mode == RestoreMode.NEW && Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw BackstopException.conflict("target.path " + p + " exists; mode new restores into a path that does not exist "
                        + "(mode replace swaps an existing one)");
            }
            if (mode == RestoreMode.REPLACE && !Files.isDirectory(p)) {
                throw invalid("target.path " + p + " is not an existing directory to replace");
            }
            requireParent(p);
            key = "directory:" + p;
        } else if (source instanceof PostgresSourceFactory pg) {
            requireKeys(target, "database");
            String database = target.get("database");
            if (database == null || !database.matches("[a-z_][a-z0-9_]{0,62}")) {
                throw invalid("target.database is required: a new database name of lowercase letters, digits and '_'");
            }
            checkPostgres(pg, database, mode, request.force()).ifPresent(busy::add);
            key = "postgres:" + pg.host() + ":" + pg.port() + "/" + database;
        } else if (source instanceof dev.backstop.source.sqlite.SqliteSourceFactory) {
            requireKeys(target, "path");
            Path p = absolutePath(target, "path", "sqlite");
            if (mode == RestoreMode.NEW && Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw BackstopException.conflict("target.path " + p + " exists; mode new restores into a file that does not exist");
            }
            if (mode == RestoreMode.REPLACE && !Files.isRegularFile(p)) {
                throw invalid("target.path " + p + " is not an existing file to replace");
            }
            requireParent(p);
            key = "sqlite:" + p;
        } else if (source instanceof dev.backstop.source.h2.H2SourceFactory) {
            requireKeys(target, "url");
            String url = target.get("url");
            if (url == null || !url.matches("jdbc:h2:(file:)?[^;:]+")) {
                throw invalid("target.url is required: a file database URL such as jdbc:h2:/var/lib/app/restored (no options)");
            }
            Path file = Path.of(h2File(url));
            if (!file.isAbsolute()) {
                throw invalid("target.url " + url + " is a relative path; give the absolute one (it would resolve to "
                        + file.toAbsolutePath().normalize() + ")");
            }
            if (mode == RestoreMode.REPLACE) {
                if (!Files.isRegularFile(file)) {
                    throw invalid("target.url " + url + " is not an existing H2 database to replace (mode new restores into a new one)");
                }
                h2OpenBy(url, file).ifPresent(busy::add);
            } else if (Files.exists(file)) {
                throw BackstopException.conflict("target.url " + url + " names an existing database; mode new restores into a new one");
            }
            requireParent(file);
            key = "h2:" + url;
        } else {
            throw invalid("restores of " + source.type() + " sources are not available");
        }
        if (!busy.isEmpty() && !request.dryRun()) {
            throw BackstopException.conflict(String.join("; ", busy) + "; nothing was restored");
        }
        return new TargetCheck(key, busy);
    }

    /** For a directory replace: which live files the real run would remove and which it would overwrite. */
    private static String dryRunChanges(SourceFactory source, RestoreRequest request, RestoreMode mode, Path raw) throws IOException {
        if (!(source instanceof dev.backstop.source.directory.DirectorySourceFactory) || mode != RestoreMode.REPLACE) {
            return "";
        }
        Path live = Path.of(request.target().get("path")).normalize();
        java.util.SortedSet<String> restored;
        try (InputStream in = Files.newInputStream(raw)) {
            restored = TarExtractor.entryNames(in);
        }
        List<String> removed = new ArrayList<>();
        List<String> overwritten = new ArrayList<>();
        try (Stream<Path> files = Files.walk(live)) {
            for (Path file : files.filter(p -> !Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList()) {
                String name = live.relativize(file).toString();
                (restored.contains(name) ? overwritten : removed).add(name);
            }
        }
        return "; would remove " + removed.size() + " files " + sample(removed) + " and overwrite " + overwritten.size() + " "
                + sample(overwritten) + " in " + live;
    }

    private static String sample(List<String> names) {
        int shown = Math.min(names.size(), 50);
        return names.subList(0, shown) + (names.size() > shown ? " (and " + (names.size() - shown) + " more)" : "");
    }

    /** A misspelt target key ("datbase") is an error, not an empty target. */
    private static void requireKeys(Map<String, String> target, String allowed) {
        for (String key : target.keySet()) {
            if (!key.equals(allowed)) {
                throw invalid("unknown target key '" + key + "'; this source type takes target." + allowed + " only");
            }
        }
    }

    private static Path absolutePath(Map<String, String> target, String name, String type) {
        String path = target.get(name);
        if (path == null || path.isBlank()) {
            throw invalid("target." + name + " is required to restore a " + type + " source");
        }
        Path p = Path.of(path);
        if (!p.isAbsolute()) {
            throw invalid("target." + name + " " + path + " is a relative path; give the absolute one (it would resolve to "
                    + p.toAbsolutePath().normalize() + ")");
        }
        return p.normalize();
    }

    private static void requireParent(Path p) {
        Path parent = p.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw invalid("the directory " + parent + " that would hold " + p + " does not exist; create it first");
        }
    }

    /** Existence for the mode (409/422); connected clients as a condition that refuses a real run. */
    private Optional<String> checkPostgres(PostgresSourceFactory pg, String database, RestoreMode mode, boolean force) {
        try (Connection c = maintenance(pg)) {
            boolean exists = databaseExists(c, database);
            if (mode == RestoreMode.NEW && exists) {
                throw BackstopException.conflict("database " + database + " already exists; mode new restores into a new database "
                        + "(mode replace swaps an existing one)");
            }
            if (mode == RestoreMode.REPLACE && !exists) {
                throw invalid("database " + database + " does not exist; mode replace needs an existing database (use mode new)");
            }
            if (mode == RestoreMode.REPLACE && !force) {
                int active = activeConnections(c, database);
                if (active > 0) {
                    return Optional.of("database " + database + " has " + active + " active connections; stop its clients or set "
                            + "\"force\": true to terminate them");
                }
            }
            return Optional.empty();
        } catch (java.sql.SQLException e) {
            throw new BackstopException(ProblemType.SERVICE_UNAVAILABLE, "cannot check the target database on " + pg.host() + ":"
                    + pg.port() + ": " + e.getMessage(), e);
        }
    }

    private static Optional<String> h2OpenBy(String url, Path file) {
        try {
            return dev.backstop.source.h2.H2FileLocks.holder(file).map(holder -> "the H2 database " + url + " is open (its file is "
                    + "locked by " + holder + "): stop the application using it, then restore again; nothing was swapped");
        } catch (IOException e) {
            return Optional.of(e.getMessage());
        }
    }

    private void execute(RestoreRow row, SnapshotRow snapshot, SourceFactory source, RestoreRequest request, TargetCheck check) {
        String targetKey = check.key();
        MDC.put("restore_id", row.id());
        MDC.put("source", snapshot.sourceName());
        Path work = staging.resolve("restore-" + row.id());
        try {
            restores.started(row.id(), clock.instant());
            inFlight.put(row.id(), Map.entry(snapshot.sourceName(), 0L));
            checkGoingOn(row.id()); // cancelled while queued
            Path raw = downloadAndVerify(row, snapshot, work);
            String detail;
            if (row.dryRun()) {
                detail = "verified " + Files.size(raw) + " bytes of " + snapshot.sourceType() + " data (sha256 " + snapshot.sha256()
                        + "); would restore into " + targetKey + " (mode " + row.mode().name().toLowerCase(Locale.ROOT) + ")"
                        + dryRunChanges(source, request, row.mode(), raw)
                        + (check.wouldRefuse().isEmpty() ? "" : "; the real run would be refused now: "
                                + String.join("; ", check.wouldRefuse()))
                        + "; nothing changed";
            } else {
                checkGoingOn(row.id());
                detail = apply(row, source, request, raw, new ApplyProgress(row.id(), snapshot.rawBytes()));
            }
            restores.complete(row.id(), clock.instant(), detail);
            record(snapshot, "completed", row);
            audit(row.requestedBy(), "restore.finished", row.id(), AuditOutcome.SUCCEEDED, detail);
            LOG.info("Restore {} of snapshot {} completed: {}", row.id(), snapshot.id(), detail);
        } catch (Exception e) {
            String by = cancelled.get(row.id());
            if (by != null) {
                String reason = CANCELLED + by + "; the target was left as it was";
                restores.cancel(row.id(), clock.instant(), reason);
                record(snapshot, "cancelled", row);
                audit(by, "restore.finished", row.id(), AuditOutcome.CANCELLED, reason);
                LOG.warn("Restore {} of snapshot {} cancelled by {}", row.id(), snapshot.id(), by);
            } else {
                String reason = SnapshotService.reason(e);
                restores.fail(row.id(), clock.instant(), reason);
                record(snapshot, "failed", row);
                audit(row.requestedBy(), "restore.finished", row.id(), AuditOutcome.FAILED, reason);
                LOG.error("Restore {} of snapshot {} failed: {}", row.id(), snapshot.id(), reason);
            }
        } finally {
            cancelled.remove(row.id());
            inFlight.remove(row.id());
            try {
                deleteTree(work);
            } catch (IOException e) {
                LOG.warn("Cannot clean staging {}: {}", work, e.getMessage());
            }
            busyTargets.remove(targetKey, row.id());
            MDC.remove("restore_id");
            MDC.remove("source");
        }
    }

    /** Download, check size and SHA-256 against catalog and manifest, decrypt, decompress: the raw stream as a file. */
    /** Reads from the healthiest target holding a copy; when that fails, from the next one. */
    private Path downloadAndVerify(RestoreRow row, SnapshotRow snapshot, Path work) throws Exception {
        Replicator copies = replicator;
        List<StorageTarget> candidates = copies != null ? copies.readable(snapshot)
                : targets.containsKey(snapshot.storageTarget()) ? List.of(targets.get(snapshot.storageTarget())) : List.of();
        if (candidates.isEmpty()) {
            throw new IOException("storage target '" + snapshot.storageTarget() + "' of snapshot " + snapshot.id() + " is not configured");
        }
        Exception first = null;
        List<String> reasons = new java.util.ArrayList<>();
        for (StorageTarget target : candidates) {
            try {
                Path raw = downloadAndVerify(row, snapshot, work, target);
                if (first != null) {
                    LOG.warn("Restore {} read snapshot {} from {} after: {}", row.id(), snapshot.id(), target.name(), reasons);
                }
                return raw;
            } catch (InterruptedException | java.io.InterruptedIOException e) {
                throw e;
            } catch (Exception e) {
                first = first == null ? e : first;
                reasons.add(target.name() + ": " + SnapshotService.reason(e));
            }
        }
        if (candidates.size() == 1) {
            throw first;
        }
        throw new IOException("no target could deliver a verified copy: " + String.join("; ", reasons), first);
    }

    private Path downloadAndVerify(RestoreRow row, SnapshotRow snapshot, Path work, StorageTarget target) throws Exception {
        Files.createDirectories(work);
        long needed = snapshot.rawBytes() + (64L << 20);
        long free = Files.getFileStore(work).getUsableSpace();
        if (free < needed) {
            throw new IOException("not enough free space in staging " + staging + ": need " + needed + " bytes, have " + free);
        }
        restores.progress(row.id(), RestorePhase.DOWNLOADING, 0, snapshot.storedBytes(), clock.instant());
        Manifest manifest;
        try (InputStream in = target.open(snapshot.manifestKey())) {
            manifest = mapper.readValue(in, Manifest.class);
        } catch (NoSuchFileException e) {
            throw new IOException("manifest missing from storage: " + snapshot.manifestKey());
        }
        // One pass: the stored bytes are hashed and counted as they are decrypted and decompressed into
        // the staging file. The target is touched only after the whole object has been checked.
        Path raw = work.resolve("raw");
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long[] size = new long[1];
        InputStream stored;
        try {
            stored = target.open(snapshot.storageKey());
        } catch (NoSuchFileException e) {
            throw new IOException("stored object missing from storage: " + snapshot.storageKey());
        }
        try (InputStream measured = new MeasuringInputStream(new BufferedInputStream(stored, 1 << 17), sha, size,
                n -> reportDownload(row, n, snapshot.storedBytes()))) {
            IOException decodeFailure = null;
            InputStream keepOpen = new java.io.FilterInputStream(measured) {
                @Override
                public void close() {
                    // the decoder closing must not close the stream we still drain and hash below
                }
            };
            try (InputStream decoded = decoded(snapshot, keepOpen)) {
                Files.copy(decoded, raw, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                decodeFailure = e;
            }
            measured.transferTo(OutputStream.nullOutputStream()); // hash whatever the decoder left unread
            restores.progress(row.id(), RestorePhase.VERIFYING, size[0], snapshot.storedBytes(), clock.instant());
            // The object's own checks come first: they name the cause better than a decoder error does.
            if (size[0] != snapshot.storedBytes()) {
                throw new IOException("size mismatch: the stored object is " + size[0] + " bytes, the catalog recorded "
                        + snapshot.storedBytes() + (size[0] < snapshot.storedBytes() ? " (truncated)" : ""));
            }
            String actual = HexFormat.of().formatHex(sha.digest());
            if (!actual.equals(snapshot.sha256()) || !actual.equals(manifest.sha256())) {
                throw new IOException("checksum mismatch: the stored object's SHA-256 is " + actual + ", the catalog recorded "
                        + snapshot.sha256() + " and the manifest " + manifest.sha256());
            }
            if (decodeFailure != null) {
                throw decodeFailure;
            }
        }
        if (Files.size(raw) != snapshot.rawBytes()) {
            throw new IOException("decoded size " + Files.size(raw) + " differs from the " + snapshot.rawBytes() + " bytes recorded");
        }
        return raw;
    }

    private void reportDownload(RestoreRow row, long done, long total) {
        checkGoingOn(row.id());
        inFlight(row.id(), done);
        restores.progress(row.id(), RestorePhase.DOWNLOADING, done, total, clock.instant());
    }

    /** Throws once the service stops or an operator cancelled the restore: it ends where it is, cleaned up. */
    private void checkGoingOn(String restoreId) {
        if (stopping) {
            throw new java.io.UncheckedIOException(new IOException(INTERRUPTED));
        }
        if (cancelled.containsKey(restoreId)) {
            throw new java.io.UncheckedIOException(new IOException(CANCELLED + cancelled.get(restoreId)));
        }
    }

    /**
     * Cancels a restore that has not finished: it stops at its next progress point (pg_restore is
     * ended), discards the fresh target as a failure does, and ends CANCELLED. Answers the row.
     */
    public RestoreRow cancel(String id, String actor) {
        RestoreRow row = find(id);
        if (row.phase().isFinal()) {
            throw BackstopException.conflict("restore " + id + " is " + row.phase() + "; only an unfinished restore can be cancelled");
        }
        if (!busyTargets.containsValue(row.id())) {
            throw BackstopException.conflict("restore " + id + " is not running on this node (" + node.id() + "); cancel it on "
                    + "the node that runs it");
        }
        cancelled.putIfAbsent(row.id(), actor);
        audit(actor, "restore.cancel", row.id(), AuditOutcome.REQUESTED, "cancel requested");
        LOG.info("Restore {} cancel requested by {}", row.id(), actor);
        Process tool = toolsByRestore.get(row.id());
        if (tool != null) {
            tool.destroy();
        }
        return find(id);
    }

    /** Progress through APPLYING: bytes of the verified raw stream the target has taken so far. */
    private final class ApplyProgress implements java.util.function.LongConsumer {
        private final String restoreId;
        private final long total;
        private long nextReport = PROGRESS_EVERY;

        ApplyProgress(String restoreId, long total) {
            this.restoreId = restoreId;
            this.total = total;
            restores.progress(restoreId, RestorePhase.APPLYING, 0, total, clock.instant());
        }

        @Override
        public void accept(long done) {
            checkGoingOn(restoreId);
            inFlight(restoreId, done);
            if (done >= nextReport) {
                restores.progress(restoreId, RestorePhase.APPLYING, Math.min(done, total), total, clock.instant());
                nextReport = done + PROGRESS_EVERY;
            }
        }

        InputStream counting(InputStream in) {
            return new java.io.FilterInputStream(in) {
                private long count;

                @Override
                public int read() throws IOException {
                    int b = super.read();
                    if (b >= 0) {
                        accept(++count);
                    }
                    return b;
                }

                @Override
                public int read(byte[] buffer, int offset, int length) throws IOException {
                    int n = super.read(buffer, offset, length);
                    if (n > 0) {
                        count += n;
                        accept(count);
                    }
                    return n;
                }
            };
        }
    }

    /** Hashes and counts what is read, and reports progress every few MiB. */
    private static final class MeasuringInputStream extends java.io.FilterInputStream {
        private final MessageDigest digest;
        private final long[] count;
        private final java.util.function.LongConsumer progress;
        private long nextReport = PROGRESS_EVERY;

        MeasuringInputStream(InputStream in, MessageDigest digest, long[] count, java.util.function.LongConsumer progress) {
            super(in);
            this.digest = digest;
            this.count = count;
            this.progress = progress;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                digest.update((byte) b);
                advance(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                digest.update(buffer, offset, n);
                advance(n);
            }
            return n;
        }

        /** No mark/reset: bytes read twice would be hashed twice (OpenPGP's armor sniffing resets). */
        @Override
        public boolean markSupported() {
            return false;
        }

        @Override
        public synchronized void mark(int limit) {
            // not supported, see markSupported
        }

        @Override
        public synchronized void reset() throws IOException {
            throw new IOException("mark/reset not supported");
        }

        private void advance(int n) {
            count[0] += n;
            if (count[0] >= nextReport) {
                progress.accept(count[0]);
                nextReport += PROGRESS_EVERY;
            }
        }
    }

    private InputStream decoded(SnapshotRow snapshot, InputStream stored) throws IOException {
        InputStream compressed = stored;
        if (snapshot.encryptionFingerprint() != null) {
            if (decryptor == null) {
                throw new IOException("snapshot " + snapshot.id() + " is encrypted to " + snapshot.encryptionFingerprint()
                        + " and encryption.privateKeyFile is not configured on this host");
            }
            compressed = decryptor.decrypt(stored);
        }
        try {
            return new ZstdInputStreamNoFinalizer(compressed);
        } catch (IOException e) {
            throw new IOException("cannot decompress: " + e.getMessage(), e);
        }
    }

    private String apply(RestoreRow row, SourceFactory source, RestoreRequest request, Path raw, ApplyProgress progress)
            throws Exception {
        Map<String, String> target = request.target();
        if (source instanceof PostgresSourceFactory pg) {
            if (row.mode() == RestoreMode.NEW) {
                return restorePostgres(pg, row.id(), target.get("database"), raw, progress);
            }
            return replacePostgres(pg, row, target.get("database"), raw, request.force(), request.dropReplaced(), progress);
        }
        if (source instanceof dev.backstop.source.sqlite.SqliteSourceFactory) {
            return restoreFile(row, Path.of(target.get("path")).toAbsolutePath().normalize(), raw, progress);
        }
        if (source instanceof dev.backstop.source.h2.H2SourceFactory) {
            return row.mode() == RestoreMode.NEW ? restoreH2(target.get("url"), raw)
                    : replaceH2(row, target.get("url"), raw, request.dropReplaced());
        }
        Path path = Path.of(target.get("path")).toAbsolutePath().normalize();
        Path fresh = path.resolveSibling("." + path.getFileName() + ".restore-" + row.id());
        try {
            int entries;
            try (InputStream in = progress.counting(new BufferedInputStream(Files.newInputStream(raw), 1 << 16))) {
                entries = TarExtractor.extract(in, fresh);
            }
            if (row.mode() == RestoreMode.NEW) {
                Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                return "restored " + entries + " entries into " + path;
            }
            Path old = path.resolveSibling("." + path.getFileName() + ".replaced-" + row.id());
            Files.move(path, old, StandardCopyOption.ATOMIC_MOVE);
            try {
                Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                Files.move(old, path, StandardCopyOption.ATOMIC_MOVE); // put the live data back
                throw e;
            }
            deleteTree(old);
            return "replaced " + path + " with " + entries + " entries";
        } finally {
            deleteTree(fresh);
        }
    }

    /** SQLite: the staged copy is the database; put it in place with one atomic rename. */
    private String restoreFile(RestoreRow row, Path path, Path raw, ApplyProgress progress) throws IOException {
        Path fresh = path.resolveSibling("." + path.getFileName() + ".restore-" + row.id());
        try (InputStream in = progress.counting(Files.newInputStream(raw))) {
            Files.copy(in, fresh);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(fresh);
            throw e;
        }
        try (var channel = java.nio.channels.FileChannel.open(fresh, java.nio.file.StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        try {
            if (row.mode() == RestoreMode.NEW) {
                Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                return "restored " + Files.size(path) + " bytes into new file " + path;
            }
            // rename(2) over the live file is atomic: readers see the old or the new database, never a mix.
            Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return "replaced " + path + " (" + Files.size(path) + " bytes) in one atomic rename";
        } finally {
            Files.deleteIfExists(fresh);
        }
    }

    /** H2: RUNSCRIPT into a database that did not exist; on failure its files are removed again. */
    private String restoreH2(String url, Path script) throws Exception {
        try (Connection c = DriverManager.getConnection(url + ";IFEXISTS=FALSE", "sa", ""); Statement s = c.createStatement()) {
            s.execute("RUNSCRIPT FROM '" + script.toAbsolutePath().toString().replace("'", "''") + "'");
            s.execute("SHUTDOWN");
        } catch (Exception e) {
            Files.deleteIfExists(Path.of(h2File(url)));
            Files.deleteIfExists(Path.of(h2File(url).replace(".mv.db", ".trace.db")));
            throw new IOException("RUNSCRIPT into " + url + " failed: " + e.getMessage(), e);
        }
        return "restored into new H2 database " + url + " (user sa, empty password; change it)";
    }

    /**
     * H2 replace: RUNSCRIPT into a fresh database beside the live one, then swap. H2 allows one
     * process per database file and locks it while open; whether it is open is read from the
     * kernel's lock table, never by opening the file (closing a channel would drop a lock this JVM
     * holds). The swap keeps the live name valid throughout: the live file is hard-linked to its
     * "replaced" name, then the fresh file is renamed over the live name in one rename(2). The
     * previous database is kept beside it unless {@code dropReplaced}.
     */
    private String replaceH2(RestoreRow row, String url, Path script, boolean dropReplaced) throws Exception {
        Path live = Path.of(h2File(url)).toAbsolutePath().normalize();
        String base = live.getFileName().toString().replace(".mv.db", "");
        String suffix = row.id().substring(row.id().length() - 8).toLowerCase(Locale.ROOT);
        Path freshBase = live.resolveSibling(base + "_restore_" + suffix);
        Path fresh = Path.of(freshBase + ".mv.db");
        Path old = live.resolveSibling(base + "_replaced_" + suffix + ".mv.db");
        Optional<String> open = h2OpenBy(url, live);
        if (open.isPresent()) {
            throw new IOException(open.get());
        }
        restoreH2("jdbc:h2:" + freshBase, script);
        try {
            open = h2OpenBy(url, live); // again: the script may have taken a while
            if (open.isPresent()) {
                throw new IOException(open.get());
            }
            Files.createLink(old, live);
            try {
                Files.move(fresh, live, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                Files.deleteIfExists(old); // the live file was never replaced
                throw e;
            }
        } finally {
            Files.deleteIfExists(fresh);
            Files.deleteIfExists(Path.of(freshBase + ".trace.db"));
        }
        if (dropReplaced) {
            Files.deleteIfExists(old);
            return "replaced H2 database " + url + " (the previous one was deleted as asked)";
        }
        return "replaced H2 database " + url + "; the previous one is kept as " + old + " (delete it when no longer needed)";
    }

    static String h2File(String url) {
        String path = url.substring("jdbc:h2:".length());
        if (path.startsWith("file:")) {
            path = path.substring("file:".length());
        }
        return path + ".mv.db";
    }

    /**
     * Restores into a fresh database, then swaps names in one transaction; the live database is
     * refused while it has connections (unless {@code force}), and kept renamed unless asked to drop it.
     */
    private String replacePostgres(PostgresSourceFactory pg, RestoreRow row, String database, Path dump, boolean force,
            boolean dropReplaced, ApplyProgress progress) throws Exception {
        String suffix = row.id().substring(row.id().length() - 8).toLowerCase(Locale.ROOT);
        String fresh = truncate(database, 40) + "_restore_" + suffix;
        String old = truncate(database, 40) + "_replaced_" + suffix;
        try (Connection c = maintenance(pg)) {
            if (!databaseExists(c, database)) {
                throw new IOException("database " + database + " does not exist; mode replace needs an existing database (use mode new)");
            }
            int active = activeConnections(c, database);
            if (active > 0 && !force) {
                throw new IOException("database " + database + " has " + active + " active connections; stop its clients or set "
                        + "\"force\": true to terminate them");
            }
        }
        restorePostgres(pg, row.id(), fresh, dump, progress);
        try (Connection c = maintenance(pg)) {
            int active = activeConnections(c, database);
            if (active > 0) {
                if (!force) {
                    dropDatabase(c, fresh);
                    throw new IOException("database " + database + " gained " + active + " connections during the restore; nothing was swapped");
                }
                try (PreparedStatement kill = c.prepareStatement(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()")) {
                    kill.setString(1, database);
                    kill.executeQuery().close();
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("ALTER DATABASE \"" + database + "\" RENAME TO \"" + old + "\"");
                s.execute("ALTER DATABASE \"" + fresh + "\" RENAME TO \"" + database + "\"");
                c.commit();
            } catch (Exception e) {
                c.rollback();
                c.setAutoCommit(true);
                dropDatabase(c, fresh);
                throw e;
            }
            c.setAutoCommit(true);
            if (dropReplaced) {
                dropDatabase(c, old);
                return "replaced database " + database + " (the previous one was dropped as asked)";
            }
        }
        return "replaced database " + database + "; the previous one is kept as " + old + " (drop it when no longer needed)";
    }

    private static String truncate(String name, int max) {
        return name.length() <= max ? name : name.substring(0, max);
    }

    private Connection maintenance(PostgresSourceFactory pg) throws java.sql.SQLException {
        return connections.postgres(pg, "postgres");
    }

    private static boolean databaseExists(Connection c, String database) throws java.sql.SQLException {
        try (PreparedStatement exists = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            exists.setString(1, database);
            try (ResultSet r = exists.executeQuery()) {
                return r.next();
            }
        }
    }

    private static int activeConnections(Connection c, String database) throws java.sql.SQLException {
        try (PreparedStatement count = c.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid() "
                        + "AND application_name IS DISTINCT FROM '" + APPLICATION_NAME + "'")) {
            count.setString(1, database);
            try (ResultSet r = count.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    /** Drops a database the service created (a verification drill's scratch copy), if it exists. */
    public void dropDatabase(PostgresSourceFactory pg, String database) throws java.sql.SQLException {
        try (Connection c = maintenance(pg)) {
            dropDatabase(c, database);
        }
    }

    private static void dropDatabase(Connection c, String database) throws java.sql.SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS \"" + database + "\" WITH (FORCE)");
        }
    }

    private String restorePostgres(PostgresSourceFactory pg, String restoreId, String database, Path dump, ApplyProgress progress)
            throws Exception {
        try (Connection c = maintenance(pg)) {
            if (databaseExists(c, database)) {
                throw new IOException("database " + database + " already exists; mode new restores into a new database");
            }
            try (Statement s = c.createStatement()) {
                s.execute("CREATE DATABASE \"" + database + "\"");
            }
        }
        List<String> command = new ArrayList<>(List.of(pg.pgDump().replaceAll("pg_dump$", "pg_restore"), "--no-owner",
                "--exit-on-error", "--jobs=" + pgRestoreJobs, "--no-password", "--host=" + pg.host(), "--port=" + pg.port(),
                "--username=" + pg.user(), "--dbname=" + database, dump.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("PGPASSWORD");
        if (pg.password() != null) {
            builder.environment().put("PGPASSWORD", pg.password());
        }
        Process process = builder.start();
        tools.add(process);
        toolsByRestore.put(restoreId, process);
        String output;
        int exit;
        try {
            java.util.concurrent.CompletableFuture<String> read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(process.getInputStream().readAllBytes());
                } catch (IOException e) {
                    return "(output unreadable: " + e.getMessage() + ")";
                }
            });
            // pg_restore reads the staged file itself: its progress is what it and its workers have read.
            while (!process.waitFor(1, TimeUnit.SECONDS)) {
                try {
                    progress.accept(bytesRead(process));
                } catch (RuntimeException stopped) {
                    process.destroy();
                    process.waitFor(10, TimeUnit.SECONDS);
                    dropAfterFailure(pg, database);
                    throw stopped;
                }
            }
            exit = process.exitValue();
            output = read.get(30, TimeUnit.SECONDS);
        } finally {
            tools.remove(process);
            toolsByRestore.remove(restoreId, process);
        }
        if (exit != 0) {
            dropAfterFailure(pg, database);
            checkGoingOn(restoreId); // a cancel ended it: say so rather than pg_restore's exit status
            throw new IOException("pg_restore exited with status " + exit + ": "
                    + output.substring(Math.max(0, output.length() - 4000)).trim().replace('\n', ' '));
        }
        return "restored into new database " + database + " with pg_restore -j " + pgRestoreJobs;
    }

    private void dropAfterFailure(PostgresSourceFactory pg, String database) throws java.sql.SQLException {
        try (Connection c = maintenance(pg)) {
            dropDatabase(c, database);
        }
    }

    /** Bytes a process and its children have read ({@code rchar} in /proc/PID/io); 0 where that is not readable. */
    private static long bytesRead(Process process) {
        long total = 0;
        for (ProcessHandle handle : java.util.stream.Stream.concat(Stream.of(process.toHandle()), process.descendants()).toList()) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(handle.pid()), "io"))) {
                    if (line.startsWith("rchar:")) {
                        total += Long.parseLong(line.substring("rchar:".length()).trim());
                    }
                }
            } catch (IOException | NumberFormatException | SecurityException gone) {
                // exited meanwhile, or /proc not readable: progress is a best effort
            }
        }
        return total;
    }

    private void record(SnapshotRow snapshot, String outcome, RestoreRow row) {
        String source = snapshot.sourceName();
        metrics.meter(dev.backstop.metrics.MetricName.of("backstop.restores", "source", source, "outcome", outcome)).mark();
        metrics.timer(dev.backstop.metrics.MetricName.of("backstop.restore.duration", "source", source))
                .update(java.time.Duration.between(row.createdAt(), clock.instant()));
        if (outcome.equals("completed")) {
            metrics.meter(dev.backstop.metrics.MetricName.of("backstop.restore.bytes", "source", source)).mark(snapshot.storedBytes());
        }
    }

    private void audit(String actor, String action, String restoreId, AuditOutcome outcome, String detail) {
        audit.append(new AuditEvent(null, clock.instant(), actor, action, "restore", restoreId, outcome,
                detail.length() > 8000 ? detail.substring(0, 8000) : detail));
    }

    private static BackstopException invalid(String detail) {
        return new BackstopException(ProblemType.VALIDATION_FAILED, detail);
    }

    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
