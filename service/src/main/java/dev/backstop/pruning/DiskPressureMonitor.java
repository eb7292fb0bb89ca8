package dev.backstop.pruning;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.AuditDao;
import dev.backstop.db.AuditEvent;
import dev.backstop.model.AuditOutcome;
import dev.backstop.model.DiskConfig;
import dev.backstop.model.MetricName;
import dev.backstop.model.RetentionPolicy;
import dev.backstop.retention.RetentionService;
import dev.backstop.source.SourceFactory;
import io.dropwizard.lifecycle.Managed;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches free space on this node's disks ({@code disk.paths}) every {@code pruning.checkInterval},
 * publishes it as metrics, and when a disk goes below {@code disk.criticalFreePercent}: in archival
 * mode only alerts; with {@code pruning.onDiskPressure} cleans stale staging entries, applies each
 * source's {@code retention.onDiskPressure} policy and runs the data pruning policies marked
 * {@code onDiskPressure}, then waits {@code pruning.cooldown} before acting again. Disks are local,
 * so this runs on every node rather than as a cluster-wide Quartz job.
 */
public final class DiskPressureMonitor implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(DiskPressureMonitor.class);
    public static final String ACTOR = "disk-pressure";

    private final DiskConfig disk;
    private final PruningConfig pruning;
    private final Path staging;
    private final List<SourceFactory> sources;
    private final RetentionService retention;
    private final DataPruner pruner;
    private final AuditDao audit;
    private final MetricRegistry metrics;
    private final Clock clock;
    private final Map<Path, double[]> latest = new ConcurrentHashMap<>();
    private final ScheduledExecutorService executor;
    private volatile Instant lastAction = Instant.EPOCH;

    public DiskPressureMonitor(DiskConfig disk, PruningConfig pruning, Path staging, List<SourceFactory> sources,
            RetentionService retention, DataPruner pruner, AuditDao audit, MetricRegistry metrics, Clock clock,
            dev.backstop.resilience.ThreadPools threads) {
        this.executor = threads.scheduled("disk-pressure");
        this.disk = disk;
        this.pruning = pruning;
        this.staging = staging;
        this.sources = List.copyOf(sources);
        this.retention = retention;
        this.pruner = pruner;
        this.audit = audit;
        this.metrics = metrics;
        this.clock = clock;
        for (Path path : disk.paths()) {
            double[] holder = {Double.NaN, Double.NaN};
            latest.put(path, holder);
            metrics.gauge(MetricName.of("backstop.disk.free.bytes", "path", path.toString()), () -> () -> holder[0]);
            metrics.gauge(MetricName.of("backstop.disk.free.percent", "path", path.toString()), () -> () -> holder[1]);
        }
    }

    @Override
    public void start() {
        try {
            measure(); // the gauges hold a reading from the first scrape on, not NaN until the first round
        } catch (IOException e) {
            LOG.warn("Cannot measure free disk space yet: {}", e.getMessage());
        }
        long every = pruning.checkInterval().toMilliseconds();
        executor.scheduleWithFixedDelay(this::checkSafely, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() throws InterruptedException {
        executor.shutdown(); // no interrupt: the check writes audit rows to the catalog
        executor.awaitTermination(10, TimeUnit.SECONDS);
    }

    private void checkSafely() {
        try {
            check();
        } catch (Exception e) {
            LOG.warn("Disk pressure check failed: {}", e.getMessage(), e);
        }
    }

    /** One round: measure, and act on critical pressure. Returns what was done (empty: nothing). */
    public List<String> check() throws IOException {
        List<String> critical = measure();
        if (critical.isEmpty()) {
            return List.of();
        }
        return act(critical);
    }

    /** Reads free space on every watched path into the gauges; returns the paths below the critical threshold. */
    private List<String> measure() throws IOException {
        List<String> critical = new ArrayList<>();
        for (Path path : disk.paths()) {
            FileStore store = Files.getFileStore(existing(path.toAbsolutePath().normalize()));
            long free = store.getUsableSpace();
            double percent = store.getTotalSpace() == 0 ? 0 : 100.0 * free / store.getTotalSpace();
            double[] holder = latest.get(path);
            holder[0] = free;
            holder[1] = percent;
            if (percent < disk.criticalFreePercent()) {
                critical.add(String.format(java.util.Locale.ROOT, "%s %.1f%% free", path, percent));
            }
        }
        return critical;
    }

    private List<String> act(List<String> critical) throws IOException {
        Instant now = clock.instant();
        if (Duration.between(lastAction, now).toMillis() < pruning.cooldown().toMilliseconds()) {
            return List.of();
        }
        lastAction = now;
        metrics.meter("backstop.disk.pressure.events").mark();
        if (pruning.archival()) {
            LOG.error("Disk space critical ({}); archival mode is on, so nothing is deleted: free space by hand", critical);
            audit(AuditOutcome.REFUSED, "critical: " + critical + "; archival mode, nothing deleted");
            return List.of("alerted (archival mode)");
        }
        if (!pruning.onDiskPressure()) {
            LOG.error("Disk space critical ({}); pruning.onDiskPressure is off, so nothing is deleted", critical);
            return List.of("alerted (pruning.onDiskPressure off)");
        }
        LOG.warn("Disk space critical ({}): cleaning staging and applying the disk-pressure policies", critical);
        List<String> done = new ArrayList<>();
        done.add("staging: removed " + cleanStaging() + " stale entries");
        for (SourceFactory source : sources) {
            RetentionPolicy policy = source.retention() == null ? null : source.retention().onDiskPressure();
            if (policy != null) {
                RetentionService.Outcome outcome = retention.apply(source.name(), policy, ACTOR, "disk pressure");
                done.add("retention " + source.name() + ": pruned " + outcome.pruned().size() + ", kept " + outcome.kept());
            }
        }
        for (DataPrunePolicy policy : pruner.policies().values()) {
            if (policy.onDiskPressure()) {
                try {
                    done.add("data " + policy.name() + ": " + pruner.prune(policy.name(), ACTOR, "disk pressure").summary());
                } catch (Exception e) {
                    done.add("data " + policy.name() + ": failed: " + e.getMessage());
                }
            }
        }
        audit(AuditOutcome.SUCCEEDED, "critical: " + critical + "; " + String.join("; ", done));
        LOG.warn("Disk pressure response: {}", done);
        return done;
    }

    private int cleanStaging() throws IOException {
        if (!Files.isDirectory(staging)) {
            return 0;
        }
        Instant stale = clock.instant().minusMillis(pruning.stagingMinAge().toMilliseconds());
        int removed = 0;
        try (Stream<Path> entries = Files.list(staging)) {
            for (Path entry : entries.toList()) {
                if (Files.getLastModifiedTime(entry).toInstant().isBefore(stale)) {
                    dev.backstop.source.FileTrees.delete(entry);
                    removed++;
                }
            }
        }
        return removed;
    }

    private void audit(AuditOutcome outcome, String detail) {
        try {
            audit.append(new AuditEvent(null, clock.instant(), ACTOR, "disk.pressure", "disk", null, outcome,
                    detail.length() > 4000 ? detail.substring(0, 4000) : detail));
        } catch (RuntimeException e) {
            LOG.warn("Cannot record the disk pressure response: {}", e.getMessage());
        }
    }

    private static Path existing(Path path) {
        Path candidate = path;
        while (candidate != null && !Files.exists(candidate)) {
            candidate = candidate.getParent();
        }
        return candidate == null ? path.getRoot() : candidate;
    }
}
