package dev.backstop.health;

import dev.backstop.source.SnapshotSource;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/** Detailed only: a source can be snapshotted now (reachable; for postgres, pg_dump present and new enough). */
public final class SourceProbe implements HealthProbe {
    private final SnapshotSource source;

    public SourceProbe(SnapshotSource source) {
        this.source = source;
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
        try {
            source.checkReachable();
            return List.of(entry.value((System.nanoTime() - started) / 1_000_000, "ms").pass());
        } catch (Exception e) {
            return List.of(entry.value((System.nanoTime() - started) / 1_000_000, "ms")
                    .status(HealthStatus.FAIL, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
    }
}
