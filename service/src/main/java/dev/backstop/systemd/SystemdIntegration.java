package dev.backstop.systemd;

import dev.backstop.health.HealthEndpoint;
import dev.backstop.health.HealthMonitor;
import dev.backstop.health.HealthStatus;
import io.dropwizard.lifecycle.Managed;
import io.dropwizard.lifecycle.ServerLifecycleListener;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code Type=notify} for systemd: READY=1 once both ports listen, WATCHDOG=1 at half the
 * {@code WatchdogSec} interval but only while liveness is not fail (so a wedged process is
 * restarted), STOPPING=1 when shutdown begins.
 */
public final class SystemdIntegration implements Managed, ServerLifecycleListener {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdIntegration.class);

    private final SystemdNotifier notifier;
    private final HealthMonitor health;
    private final ScheduledExecutorService watchdog;

    public SystemdIntegration(SystemdNotifier notifier, HealthMonitor health, dev.backstop.resilience.ThreadPools threads) {
        this.notifier = notifier;
        this.health = health;
        this.watchdog = watchdogMicros() > 0 ? threads.scheduled("systemd-watchdog") : null;
    }

    @Override
    public void serverStarted(Server server) {
        notifier.notify("READY=1\nSTATUS=serving\nMAINPID=" + ProcessHandle.current().pid());
        long intervalMicros = watchdogMicros();
        if (intervalMicros > 0 && watchdog != null) {
            long period = Math.max(1, intervalMicros / 2);
            watchdog.scheduleAtFixedRate(this::pet, 0, period, TimeUnit.MICROSECONDS);
            LOG.info("systemd watchdog: notifying every {} ms while liveness passes", period / 1000);
        }
    }

    private void pet() {
        HealthStatus live = health.report(HealthEndpoint.LIVE).status();
        if (live == HealthStatus.FAIL) {
            LOG.error("Liveness is fail: not notifying the systemd watchdog, so systemd restarts the service");
            return;
        }
        notifier.notify("WATCHDOG=1");
    }

    /** {@code WATCHDOG_USEC} when it is meant for this process; 0 otherwise. */
    static long watchdogMicros() {
        String usec = System.getenv("WATCHDOG_USEC");
        String pid = System.getenv("WATCHDOG_PID");
        if (usec == null || (pid != null && !pid.equals(Long.toString(ProcessHandle.current().pid())))) {
            return 0;
        }
        try {
            return Long.parseLong(usec.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    @Override
    public void stop() {
        notifier.notify("STOPPING=1");
        if (watchdog != null) {
            watchdog.shutdownNow();
        }
    }
}
