package dev.backstop.health;

import com.codahale.metrics.health.HealthCheck;
import java.util.List;
import java.util.stream.Collectors;

/** Shows a probe's latest cached result on Dropwizard's {@code /healthcheck} page without running it. */
public final class DropwizardHealthCheck extends HealthCheck {
    private final HealthMonitor monitor;
    private final HealthProbe probe;

    public DropwizardHealthCheck(HealthMonitor monitor, HealthProbe probe) {
        this.monitor = monitor;
        this.probe = probe;
    }

    @Override
    protected Result check() {
        List<HealthObservation> observations = monitor.latest(probe);
        String problems = observations.stream()
                .filter(o -> o.status() != HealthStatus.PASS)
                .map(o -> o.key() + " " + o.status().wire() + ": " + o.output())
                .collect(Collectors.joining("; "));
        boolean failing = observations.stream().anyMatch(o -> o.status() == HealthStatus.FAIL);
        if (observations.isEmpty()) {
            return Result.unhealthy("not run yet");
        }
        return failing ? Result.unhealthy(problems) : Result.healthy(problems.isEmpty() ? null : problems);
    }
}
