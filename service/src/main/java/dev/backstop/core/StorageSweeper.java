package dev.backstop.core;

import dev.backstop.storage.StorageTarget;
import io.dropwizard.lifecycle.Managed;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** At startup and then periodically, removes what interrupted uploads left in every target. */
public final class StorageSweeper implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(StorageSweeper.class);

    private final List<StorageTarget> targets;
    private final Duration olderThan;
    private final Duration interval;
    private final ScheduledExecutorService scheduler;

    public StorageSweeper(List<StorageTarget> targets, Duration olderThan, Duration interval,
            dev.backstop.resilience.ThreadPools threads) {
        this.scheduler = threads.scheduled("storage-sweeper");
        this.targets = List.copyOf(targets);
        this.olderThan = olderThan;
        this.interval = interval;
    }

    @Override
    public void start() {
        scheduler.scheduleWithFixedDelay(this::sweep, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One pass over every target; a target that cannot be reached is retried next time. */
    public int sweep() {
        int removed = 0;
        for (StorageTarget target : targets) {
            try {
                removed += target.sweepStaleUploads(olderThan);
            } catch (Exception e) {
                LOG.warn("Cannot sweep stale uploads in {}: {}", target.describe(), e.getMessage());
            }
        }
        return removed;
    }

    @Override
    public void stop() {
        scheduler.shutdownNow();
    }
}
