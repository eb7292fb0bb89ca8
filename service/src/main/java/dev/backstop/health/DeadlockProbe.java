package dev.backstop.health;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/** Liveness: no JVM threads deadlocked on monitors or locks. Looks only inside the process. */
public final class DeadlockProbe implements HealthProbe {
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    @Override
    public String name() {
        return "threads";
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of(HealthEndpoint.LIVE);
    }

    @Override
    public String componentType() {
        return "system";
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        long[] deadlocked = threads.findDeadlockedThreads();
        int count = deadlocked == null ? 0 : deadlocked.length;
        HealthObservation.Builder entry = HealthObservation.of("threads", "deadlocked", now)
                .type("system")
                .value(count, "threads");
        return List.of(count == 0 ? entry.pass() : entry.status(HealthStatus.FAIL, count + " threads are deadlocked; see /threads"));
    }
}
