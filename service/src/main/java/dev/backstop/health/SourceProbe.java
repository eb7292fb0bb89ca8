package dev.backstop.health;

import dev.backstop.source.SnapshotSource;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Detailed only: a source can be snapshotted now (reachable; for postgres, pg_dump present and new
 * enough), and the conditions its type reports (postgres-cluster: WAL receiver, archive lag, window age),
 * and for a source with an archived log whose WAL was lost, {@code walGap}: WARN until a drill has
 * proven a point after the gap.
 */
public final class SourceProbe implements HealthProbe {
    private final SnapshotSource source;
    private final dev.backstop.core.PointInTimeWindows windows;

    public SourceProbe(SnapshotSource source) {
        this(source, null);
    }

    /** With {@code windows}: a source with an archived log also reports {@code walGap} (a gap no drill has proven a point after). */
    public SourceProbe(SnapshotSource source, dev.backstop.core.PointInTimeWindows windows) {
        this.source = source;
        this.windows = windows;
    }

    @Override
    public String name() {
        return "source-" + source.name();
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of();
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        long started = System.nanoTime();
        HealthObservation.Builder entry = HealthObservation.of("source", "reachable", now).id(source.name()).type(source.type());
        List<HealthObservation> observations = new java.util.ArrayList<>();
        try {
            source.checkReachable();
            observations.add(entry.value((System.nanoTime() - started) / 1_000_000, "ms").pass());
        } catch (Exception e) {
            observations.add(entry.value((System.nanoTime() - started) / 1_000_000, "ms")
                    .status(HealthStatus.FAIL, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        for (dev.backstop.source.SourceCondition condition : source.conditions(now)) {
            observations.add(HealthObservation.of("source", condition.measurement(), now).id(source.name()).type(source.type())
                    .value(condition.value(), condition.unit()).status(switch (condition.level()) {
                        case PASS -> HealthStatus.PASS;
                        case WARN -> HealthStatus.WARN;
                        case FAIL -> HealthStatus.FAIL;
                    }, condition.output()));
        }
        if (windows != null) {
            try {
                windows.window(source.name()).filter(w -> w.lastGap() != null).ifPresent(w -> {
                    HealthObservation.Builder gap = HealthObservation.of("source", "walGap", now).id(source.name()).type(source.type())
                            .value(java.time.Duration.between(w.lastGap(), now).toSeconds(), "s");
                    observations.add(w.unprovenGap().map(why -> gap.status(HealthStatus.WARN, why)).orElseGet(gap::pass));
                });
            } catch (RuntimeException e) {
                // the catalog is down: the catalog check says so
            }
        }
        return observations;
    }
}
