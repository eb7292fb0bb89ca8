package dev.backstop.health;

import static java.util.Objects.requireNonNull;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.model.MetricName;
import io.dropwizard.lifecycle.Managed;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every {@link HealthProbe} on a schedule and keeps the resulting health+json documents,
 * already serialized, so that an endpoint answers with one memory read and never waits on a
 * dependency. A probe that hangs is reported as fail once the timeout passes, and is not started
 * again until its previous run returns, so a hung dependency cannot pile up threads.
 */
public final class HealthMonitor implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(HealthMonitor.class);
    public static final String MEDIA_TYPE = "application/health+json";

    private final List<HealthProbe> probes;
    private final HealthConfig config;
    private final Clock clock;
    private final ObjectMapper mapper;
    private final MetricRegistry metrics;
    private final String releaseId;

    private final Map<String, ProbeRun> inFlight = new ConcurrentHashMap<>();
    private final Map<String, List<HealthObservation>> latest = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> checkStatusGauges = new ConcurrentHashMap<>();
    private final AtomicReference<Map<HealthEndpoint, HealthReport>> reports = new AtomicReference<>();
    private volatile long lastTickMillis;

    private final ScheduledExecutorService ticker;
    private final ExecutorService probeRunner;

    private record ProbeRun(Future<List<HealthObservation>> future, Instant started) {}

    public HealthMonitor(List<HealthProbe> probes, HealthConfig config, Clock clock, ObjectMapper mapper,
            MetricRegistry metrics, String releaseId, dev.backstop.resilience.ThreadPools threads) {
        this.probes = List.copyOf(probes);
        this.ticker = threads.scheduled("health-monitor");
        // A hung probe holds its thread; the next round gets a new one, and idle ones go after a minute.
        this.probeRunner = threads.elastic("health-probe", java.time.Duration.ofMinutes(1));
        this.config = requireNonNull(config, "config");
        this.clock = requireNonNull(clock, "clock");
        this.mapper = requireNonNull(mapper, "mapper");
        this.metrics = requireNonNull(metrics, "metrics");
        this.releaseId = requireNonNull(releaseId, "releaseId");
        for (HealthEndpoint endpoint : HealthEndpoint.values()) {
            metrics.gauge(MetricName.of("backstop.health.status", "endpoint", endpoint.name().toLowerCase()),
                    () -> () -> report(endpoint).status().ordinal());
        }
    }

    public List<HealthProbe> probes() {
        return probes;
    }

    @Override
    public void start() {
        // The first round runs before the server opens its ports, so readiness is known at once.
        runProbes();
        long periodMillis = config.period().toMilliseconds();
        ticker.scheduleWithFixedDelay(this::runProbesSafely, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        ticker.shutdownNow();
        // Probes query the catalog: let a running one finish rather than interrupt it (an
        // interrupt would close an H2 catalog's file); a hung one is left to the daemon thread.
        probeRunner.shutdown();
    }

    /** The latest document for an endpoint. Liveness fails by itself when the monitor stops ticking. */
    public HealthReport report(HealthEndpoint endpoint) {
        Map<HealthEndpoint, HealthReport> current = reports.get();
        if (current == null) {
            return HealthReport.NOT_STARTED;
        }
        if (endpoint == HealthEndpoint.LIVE && isStale()) {
            return staleReport();
        }
        return current.get(endpoint);
    }

    /** The latest observations of one probe (empty before its first run). */
    public List<HealthObservation> latest(HealthProbe probe) {
        return latest.getOrDefault(probe.name(), List.of());
    }

    private boolean isStale() {
        long staleAfter = 3 * config.period().toMilliseconds() + config.timeout().toMilliseconds();
        return clock.millis() - lastTickMillis > staleAfter;
    }

    private void runProbesSafely() {
        try {
            runProbes();
        } catch (RuntimeException e) {
            LOG.error("Health round failed", e);
        }
    }

    /** One round: start every idle probe, wait for them up to the timeout, publish the documents. */
    void runProbes() {
        Instant now = clock.instant();
        long deadline = System.nanoTime() + config.timeout().toNanoseconds();
        Map<HealthProbe, Future<List<HealthObservation>>> started = new LinkedHashMap<>();
        for (HealthProbe probe : probes) {
            ProbeRun previous = inFlight.get(probe.name());
            if (previous != null && !previous.future().isDone()) {
                record(probe, List.of(unanswered(probe, now, previous.started())));
                continue;
            }
            Future<List<HealthObservation>> future = probeRunner.submit(() -> observe(probe, now));
            inFlight.put(probe.name(), new ProbeRun(future, now));
            started.put(probe, future);
        }
        for (Map.Entry<HealthProbe, Future<List<HealthObservation>>> entry : started.entrySet()) {
            HealthProbe probe = entry.getKey();
            try {
                long remaining = Math.max(0, deadline - System.nanoTime());
                record(probe, entry.getValue().get(remaining, TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                record(probe, List.of(unanswered(probe, now, now)));
            } catch (ExecutionException e) {
                record(probe, List.of(failed(probe, now, e.getCause())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        publish();
        lastTickMillis = clock.millis();
    }

    private List<HealthObservation> observe(HealthProbe probe, Instant now) throws Exception {
        Timer.Context timing = metrics.timer(MetricName.of("backstop.health.probe.duration", "probe", probe.name())).time();
        try {
            return probe.observe(now);
        } finally {
            timing.stop();
        }
    }

    private void record(HealthProbe probe, List<HealthObservation> observations) {
        List<HealthObservation> previous = latest.put(probe.name(), observations);
        HealthStatus before = worst(previous == null ? List.of() : previous);
        HealthStatus after = worst(observations);
        if (previous != null && before != after) {
            LOG.info("Health of {} changed from {} to {}{}", probe.name(), before.wire(), after.wire(), describe(observations));
        } else if (previous == null && after != HealthStatus.PASS) {
            LOG.warn("Health of {} is {}{}", probe.name(), after.wire(), describe(observations));
        }
    }

    private static String describe(List<HealthObservation> observations) {
        StringBuilder text = new StringBuilder();
        for (HealthObservation o : observations) {
            if (o.output() != null) {
                text.append("; ").append(o.key()).append(": ").append(o.output());
            }
        }
        return text.toString();
    }

    private HealthObservation unanswered(HealthProbe probe, Instant now, Instant since) {
        return HealthObservation.of(probe.name(), "availability", now)
                .type(probe.componentType())
                .status(HealthStatus.FAIL, "no answer within " + config.timeout() + " (running since " + since + ")");
    }

    private static HealthObservation failed(HealthProbe probe, Instant now, Throwable cause) {
        String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return HealthObservation.of(probe.name(), "availability", now)
                .type(probe.componentType())
                .status(HealthStatus.FAIL, reason);
    }

    private void publish() {
        Map<HealthEndpoint, HealthReport> next = new EnumMap<>(HealthEndpoint.class);
        for (HealthEndpoint endpoint : HealthEndpoint.values()) {
            List<HealthObservation> observations = new ArrayList<>();
            for (HealthProbe probe : probes) {
                if (endpoint == HealthEndpoint.DETAILED || probe.endpoints().contains(endpoint)) {
                    observations.addAll(latest(probe));
                }
            }
            next.put(endpoint, render(observations));
        }
        updateCheckGauges();
        reports.set(next);
    }

    private void updateCheckGauges() {
        Map<String, HealthStatus> byKey = new LinkedHashMap<>();
        for (HealthProbe probe : probes) {
            for (HealthObservation o : latest(probe)) {
                byKey.merge(o.key(), o.status(), HealthStatus::worse);
            }
        }
        byKey.forEach((key, status) -> checkStatusGauges.computeIfAbsent(key, k -> {
            AtomicInteger holder = new AtomicInteger();
            metrics.gauge(MetricName.of("backstop.health.check.status", "check", k), () -> holder::get);
            return holder;
        }).set(status.ordinal()));
    }

    private HealthReport render(List<HealthObservation> observations) {
        HealthStatus status = worst(observations);
        Map<String, List<HealthObservation>> checks = new LinkedHashMap<>();
        for (HealthObservation o : observations) {
            checks.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
        }
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("status", status);
        document.put("serviceId", "backstop");
        document.put("releaseId", releaseId);
        document.put("checks", checks);
        try {
            return new HealthReport(status, mapper.writeValueAsBytes(document));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize health document", e);
        }
    }

    private HealthReport staleReport() {
        HealthObservation stale = HealthObservation.of("health-monitor", "lastRound", clock.instant())
                .type("system")
                .value(clock.millis() - lastTickMillis, "ms")
                .status(HealthStatus.FAIL, "health probes have not completed a round recently; the process may be wedged");
        return render(List.of(stale));
    }

    private static HealthStatus worst(List<HealthObservation> observations) {
        HealthStatus status = HealthStatus.PASS;
        for (HealthObservation o : observations) {
            status = status.worse(o.status());
        }
        return status;
    }

}
