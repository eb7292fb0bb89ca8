package dev.backstop.health;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.schedule.BackstopScheduler;
import dev.backstop.schedule.JobSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.quartz.Scheduler;
import org.quartz.Trigger;
import org.quartz.TriggerKey;

/**
 * Detailed only: the scheduler runs (unless disabled on this node), no trigger has stayed BLOCKED
 * (its job running) or ERROR for longer than {@code scheduler.stuckThreshold}, and how many fire
 * times were missed since start.
 */
public final class SchedulerProbe implements HealthProbe {
    private final BackstopScheduler scheduler;
    private final MetricRegistry metrics;
    private final Map<String, Instant> stuckSince = new ConcurrentHashMap<>();

    public SchedulerProbe(BackstopScheduler scheduler, MetricRegistry metrics) {
        this.scheduler = scheduler;
        this.metrics = metrics;
    }

    @Override
    public String name() {
        return "scheduler";
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of();
    }

    @Override
    public List<HealthObservation> observe(Instant now) throws Exception {
        Scheduler quartz = scheduler.quartz();
        List<HealthObservation> result = new ArrayList<>();
        HealthObservation.Builder running = HealthObservation.of("scheduler", "running", now).type("system")
                .id(scheduler.config().instanceId());
        if (!scheduler.config().enabled()) {
            result.add(running.value("disabled", null).pass());
        } else if (!quartz.isStarted() && !quartz.isShutdown()) {
            result.add(running.value("starting", null).pass());
        } else if (quartz.isShutdown() || quartz.isInStandbyMode()) {
            result.add(running.status(HealthStatus.FAIL, "the scheduler is not running: scheduled jobs do not fire on this node"));
        } else {
            result.add(running.value(true, null).pass());
        }
        Duration threshold = Duration.ofMillis(scheduler.config().stuckThreshold().toMilliseconds());
        List<String> stuck = new ArrayList<>();
        for (JobSpec spec : scheduler.specs().values()) {
            Trigger.TriggerState state = quartz.getTriggerState(TriggerKey.triggerKey(spec.subject(), spec.group()));
            if (state == Trigger.TriggerState.BLOCKED || state == Trigger.TriggerState.ERROR) {
                Instant since = stuckSince.computeIfAbsent(spec.name() + ":" + state, k -> now);
                if (Duration.between(since, now).compareTo(threshold) > 0) {
                    stuck.add(spec.name() + " " + state + " since " + since);
                }
            } else {
                stuckSince.keySet().removeIf(k -> k.startsWith(spec.name() + ":"));
            }
        }
        HealthObservation.Builder triggers = HealthObservation.of("scheduler", "stuckTriggers", now).type("system")
                .value(stuck.size(), "triggers");
        result.add(stuck.isEmpty() ? triggers.pass() : triggers.status(HealthStatus.WARN,
                "triggers stuck longer than scheduler.stuckThreshold " + scheduler.config().stuckThreshold() + ": " + stuck));
        long misfires = metrics.getMeters((name, metric) -> name.startsWith("backstop.job.misfires")).values().stream()
                .mapToLong(com.codahale.metrics.Meter::getCount).sum();
        result.add(HealthObservation.of("scheduler", "misfires", now).type("system").value(misfires, "fires").pass());
        return result;
    }
}
