package dev.backstop.health;

import dev.backstop.db.RestoreDao;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/** Detailed only: warns when a restore failed in the last 24 hours, so a broken restore path gets noticed. */
public final class RestoreProbe implements HealthProbe {
    static final Duration WINDOW = Duration.ofHours(24);

    private final RestoreDao restores;

    public RestoreProbe(RestoreDao restores) {
        this.restores = restores;
    }

    @Override
    public String name() {
        return "restores";
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of();
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        int failed = restores.failedSince(now.minus(WINDOW));
        HealthObservation.Builder entry = HealthObservation.of("restores", "failedLast24h", now).type("component").value(failed, "restores");
        return List.of(failed == 0 ? entry.pass()
                : entry.status(HealthStatus.WARN, failed + " restores failed in the last 24 hours; see GET /api/v1/restores"));
    }
}
