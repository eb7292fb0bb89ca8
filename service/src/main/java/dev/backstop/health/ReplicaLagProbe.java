package dev.backstop.health;

import dev.backstop.db.CopyDao;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Detailed only: how far a replica target is behind: the snapshots it still lacks, and how long
 * ago the oldest of them completed. Warns when that is longer than {@code storage.replicationLagWarn}.
 */
public final class ReplicaLagProbe implements HealthProbe {
    private final String target;
    private final CopyDao copies;
    private final Duration warnAfter;
    private volatile long lastLagSeconds;

    /** {@code backstop_replica_lag_seconds{target}} (as of the newest health round) and the configured warn bound. */
    public ReplicaLagProbe register(com.codahale.metrics.MetricRegistry metrics) {
        metrics.gauge(dev.backstop.model.MetricName.of("backstop.replica.lag.seconds", "target", target), () -> () -> lastLagSeconds);
        long warn = warnAfter.toSeconds();
        metrics.gauge(dev.backstop.model.MetricName.of("backstop.replica.lag.warn.seconds", "target", target), () -> () -> warn);
        return this;
    }

    public ReplicaLagProbe(String target, CopyDao copies, Duration warnAfter) {
        this.target = target;
        this.copies = copies;
        this.warnAfter = warnAfter;
    }

    @Override
    public String name() {
        return "replica-" + target;
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of();
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        int lagging = copies.lagging(target);
        Instant oldest = lagging == 0 ? null : copies.oldestLagging(target);
        long lagSeconds = oldest == null ? 0 : Math.max(0, Duration.between(oldest, now).toSeconds());
        lastLagSeconds = lagSeconds;
        HealthObservation.Builder count = HealthObservation.of("replica", "missingSnapshots", now).id(target).type("datastore")
                .value(lagging, "snapshots");
        HealthObservation.Builder lag = HealthObservation.of("replica", "lag", now).id(target).type("datastore").value(lagSeconds, "s");
        if (lagSeconds > warnAfter.toSeconds()) {
            String output = target + " lacks " + lagging + " snapshots, the oldest completed " + lagSeconds / 60
                    + " min ago (storage.replicationLagWarn " + warnAfter.toMinutes() + " min); the catch-up job copies them";
            return List.of(count.status(HealthStatus.WARN, output), lag.status(HealthStatus.WARN, output));
        }
        return List.of(count.pass(), lag.pass());
    }
}
