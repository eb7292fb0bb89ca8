package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.CopyDao;
import dev.backstop.db.CopyRow;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.MetricName;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.StorageTarget;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replicated storage targets. A source's snapshot goes to its target first; once COMPLETED it is
 * copied to each of the source's {@code replicas}: server-side when both are buckets on the same S3
 * endpoint, streamed otherwise, its SHA-256 checked against the catalog's before the copy is
 * published. {@code snapshot_copies} records which targets hold each snapshot. A copy that fails
 * waits before the next attempt (doubling per attempt, longer for a target with a poor quality
 * score) and the catch-up job ({@code replicate.<target>}) brings a replica that was down back in
 * line. Restores read from the healthiest target holding a copy, and fall back to the others.
 */
public final class Replicator implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(Replicator.class);
    static final Duration BASE_RETRY = Duration.ofSeconds(30);
    static final Duration MAX_RETRY = Duration.ofHours(1);

    /** What a catch-up run did; {@code enqueued}: older snapshots found lacking a copy, added to the copies to make. */
    public record Outcome(String target, int copied, int failed, int enqueued, int remaining) {}

    /** At most this many copies a catch-up run makes (and older snapshots it enqueues): the next run goes on. */
    static final int PER_RUN = 100;

    private final Map<String, StorageTarget> targets;
    private final Map<String, List<String>> replicasBySource;
    private final SnapshotDao snapshots;
    private final CopyDao copies;
    private final Clock clock;
    private final MetricRegistry metrics;
    private final ExecutorService executor;
    private dev.backstop.repository.Repositories repositories;

    /** Chunked snapshots copy the packs a replica lacks, from the repositories of both targets. */
    public Replicator withRepositories(dev.backstop.repository.Repositories repositories) {
        this.repositories = repositories;
        return this;
    }

    public Replicator(Map<String, StorageTarget> targets, Map<String, List<String>> replicasBySource, SnapshotDao snapshots,
            CopyDao copies, Clock clock, MetricRegistry metrics, dev.backstop.resilience.ThreadPools threads) {
        this.executor = threads.fixed("replicator", 1);
        this.targets = Map.copyOf(targets);
        this.replicasBySource = Map.copyOf(replicasBySource);
        this.snapshots = snapshots;
        this.copies = copies;
        this.clock = clock;
        this.metrics = metrics;
    }

    /** Replica targets that some source copies to. */
    public List<String> replicaTargets() {
        return replicasBySource.values().stream().flatMap(List::stream).distinct().sorted().toList();
    }

    @Override
    public void stop() throws InterruptedException {
        executor.shutdown(); // no interrupt: copies write their outcome to the catalog
        executor.awaitTermination(10, TimeUnit.SECONDS);
    }

    /** Records the primary copy of a snapshot that just completed, and starts copying it to the replicas. */
    public void completed(SnapshotRow row) {
        copies.insertCopied(row.id(), row.storageTarget(), row.finishedAt());
        List<String> replicas = replicasBySource.getOrDefault(row.sourceName(), List.of());
        for (String replica : replicas) {
            copies.insertPending(row.id(), replica);
        }
        if (!replicas.isEmpty()) {
            try {
                executor.submit(() -> replicas.forEach(replica -> copyNow(row.id(), replica)));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                LOG.info("Replication of {} left to the catch-up job: the service is stopping", row.id());
            }
        }
    }

    private void copyNow(String snapshotId, String replica) {
        copies.forSnapshot(snapshotId).stream().filter(c -> c.target().equals(replica) && !"COPIED".equals(c.status()))
                .findFirst().ifPresent(this::copy);
    }

    /**
     * Copies everything a replica target lacks that is due now (the scheduled catch-up), or
     * everything it lacks ({@code force}: an operator triggered the job by hand).
     */
    public Outcome catchUp(String target, boolean force) {
        int enqueued = enqueueOlder(target);
        int copied = 0;
        int failed = 0;
        Instant due = force ? Instant.parse("9999-12-31T00:00:00Z") : clock.instant();
        for (CopyRow copy : copies.due(target, due, PER_RUN)) {
            if (copy(copy)) {
                copied++;
            } else {
                failed++;
            }
        }
        return new Outcome(target, copied, failed, enqueued, copies.lagging(target));
    }

    /**
     * A replica added to a source's {@code replicas} gets what the source already had: the COMPLETED
     * snapshots with no copy row for it become pending copies (at most {@link #PER_RUN} a run,
     * newest first, so the most useful copies come first).
     */
    private int enqueueOlder(String target) {
        int enqueued = 0;
        for (Map.Entry<String, List<String>> source : replicasBySource.entrySet()) {
            if (!source.getValue().contains(target)) {
                continue;
            }
            for (String snapshotId : copies.neverCopied(source.getKey(), target, PER_RUN - enqueued)) {
                try {
                    copies.insertPending(snapshotId, target);
                    enqueued++;
                } catch (RuntimeException e) {
                    if (!dev.backstop.db.Constraints.isUniqueViolation(e)) {
                        throw e;
                    }
                    // another node enqueued it meanwhile
                }
            }
            if (enqueued >= PER_RUN) {
                break;
            }
        }
        if (enqueued > 0) {
            LOG.info("{} older snapshots lack a copy on replica {}: queued for copying", enqueued, target);
        }
        return enqueued;
    }

    /** Makes one copy; on failure records the reason and when to try again. */
    boolean copy(CopyRow copy) {
        SnapshotRow snapshot = snapshots.find(copy.snapshotId()).orElse(null);
        StorageTarget to = targets.get(copy.target());
        if (snapshot == null || snapshot.status() != SnapshotStatus.COMPLETED || to == null) {
            return false;
        }
        long started = System.nanoTime();
        try {
            // A copy on the same S3 endpoint can be copied server-side: prefer it, then the healthiest.
            StorageTarget from = readable(snapshot).stream().filter(t -> !t.name().equals(copy.target()))
                    .sorted(Comparator.comparing((StorageTarget t) -> !to.canCopyWithin(t))).findFirst()
                    .orElseThrow(() -> new IOException("no target holding snapshot " + snapshot.id() + " is configured"));
            String how = copyObjects(snapshot, from, to);
            copies.copied(snapshot.id(), copy.target(), clock.instant());
            metrics.meter(MetricName.of("backstop.replica.copies", "target", copy.target(), "outcome", "copied")).mark();
            metrics.timer(MetricName.of("backstop.replica.copy.duration", "target", copy.target()))
                    .update(Duration.ofNanos(System.nanoTime() - started));
            LOG.info("Snapshot {} of {} copied from {} to {} ({})", snapshot.id(), snapshot.sourceName(), from.name(), to.name(), how);
            return true;
        } catch (Exception e) {
            Instant next = clock.instant().plus(backoff(copy.attempts() + 1, score(to)));
            copies.failed(snapshot.id(), copy.target(), SnapshotService.reason(e), next);
            metrics.meter(MetricName.of("backstop.replica.copies", "target", copy.target(), "outcome", "failed")).mark();
            LOG.warn("Copy of snapshot {} to {} failed (attempt {}), next attempt at {}: {}", snapshot.id(), copy.target(),
                    copy.attempts() + 1, next, SnapshotService.reason(e));
            return false;
        }
    }

    /** The wait before attempt n: doubling from 30 s, stretched for a target that scores badly, at most an hour. */
    static Duration backoff(int attempt, double score) {
        double factor = Math.pow(2, Math.min(attempt - 1, 16)) / Math.max(score, 0.1);
        long millis = (long) Math.min(BASE_RETRY.toMillis() * factor, MAX_RETRY.toMillis());
        return Duration.ofMillis(millis);
    }

    private static double score(StorageTarget target) {
        return target.guarded().map(dev.backstop.resilience.Guard::score).orElse(1.0);
    }

    private String copyObjects(SnapshotRow snapshot, StorageTarget from, StorageTarget to) throws Exception {
        byte[] manifest;
        try (InputStream in = from.open(snapshot.manifestKey())) {
            manifest = in.readAllBytes();
        }
        String how;
        long expectedSize = snapshot.storedBytes();
        String packs = "";
        if (snapshot.chunked()) {
            if (repositories == null) {
                throw new IOException("snapshot " + snapshot.id() + " is chunked and no repository is configured");
            }
            dev.backstop.repository.ChunkRepository.Copied copied = repositories.of(to).copyPacks(snapshot.id(), repositories.of(from),
                    snapshot.storageKey(), snapshot.sha256());
            expectedSize = copied.listBytes();
            packs = "; " + copied.packsCopied() + " of its " + copied.packs() + " packs copied (" + copied.bytesCopied()
                    + " bytes), the others were there";
        }
        if (to.copyWithin(from, snapshot.storageKey(), expectedSize)) {
            how = "server-side copy";
            if (snapshot.chunked()) {
                // The list copied must be the one whose packs were copied: a repack may have rewritten it in between.
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                try (InputStream in = to.open(snapshot.storageKey())) {
                    byte[] buffer = new byte[1 << 16];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        sha.update(buffer, 0, n);
                    }
                }
                String actual = HexFormat.of().formatHex(sha.digest());
                if (!actual.equals(snapshot.sha256())) {
                    throw new IOException("the chunk list copied to " + to.name() + " does not match the catalog (SHA-256 " + actual
                            + "; the source's list was rewritten meanwhile); not published, the next attempt copies it again");
                }
            }
        } else {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long size = 0;
            try (InputStream in = from.open(snapshot.storageKey()); ObjectUpload upload = to.upload(snapshot.storageKey())) {
                byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    sha.update(buffer, 0, n);
                    upload.write(buffer, 0, n);
                    size += n;
                }
                String actual = HexFormat.of().formatHex(sha.digest());
                if (size != expectedSize || !actual.equals(snapshot.sha256())) {
                    throw new IOException("the copy read from " + from.name() + " does not match the catalog (" + size + " bytes, SHA-256 "
                            + actual + "); not published");
                }
                upload.commit();
            }
            how = "streamed, " + size + " bytes, SHA-256 verified";
        }
        to.put(snapshot.manifestKey(), manifest, "application/json");
        return how + packs;
    }

    /**
     * The targets holding a complete copy of a snapshot, best first: an open breaker last, then by
     * quality score. The target the snapshot was taken to counts even without a copies row (catalogs
     * from before replication, rebuilt catalogs).
     */
    public List<StorageTarget> readable(SnapshotRow snapshot) {
        return targetsOf(snapshot, true).stream().sorted(Comparator.comparingDouble(Replicator::score).reversed()).toList();
    }

    /** Every target holding any part of a snapshot (for deletion): primary and replicas, copied or not. */
    public List<StorageTarget> holding(SnapshotRow snapshot) {
        return targetsOf(snapshot, false);
    }

    /** The snapshot's own target, then the targets of its copies (only finished ones when {@code copiedOnly}). */
    private List<StorageTarget> targetsOf(SnapshotRow snapshot, boolean copiedOnly) {
        java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>();
        if (snapshot.storageTarget() != null) {
            names.add(snapshot.storageTarget());
        }
        for (CopyRow copy : copies.forSnapshot(snapshot.id())) {
            if (!copiedOnly || "COPIED".equals(copy.status())) {
                names.add(copy.target());
            }
        }
        return names.stream().map(targets::get).filter(java.util.Objects::nonNull).toList();
    }
}
