package dev.backstop.health;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.dropwizard.util.Duration;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HealthMonitorTest {
    private final ObjectMapper mapper = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private final MetricRegistry metrics = new MetricRegistry();
    private final CountDownLatch release = new CountDownLatch(1);
    private HealthMonitor monitor;

    @AfterEach
    void stop() {
        release.countDown();
        if (monitor != null) {
            monitor.stop();
        }
    }

    private HealthMonitor start(HealthProbe... probes) {
        monitor = new HealthMonitor(List.of(probes), new HealthConfig(Duration.seconds(60), Duration.milliseconds(100)),
                Clock.systemUTC(), mapper, metrics, "test", dev.backstop.resilience.ThreadPools.standalone());
        monitor.start();
        return monitor;
    }

    private JsonNode document(HealthEndpoint endpoint) throws Exception {
        return mapper.readTree(monitor.report(endpoint).body());
    }

    @Test
    void documentsFollowTheHealthJsonShape() throws Exception {
        start(probe("db", Set.of(HealthEndpoint.READY), now -> List.of(
                HealthObservation.of("db", "responseTime", now).type("datastore").value(3, "ms").pass())));
        assertThat(monitor.report(HealthEndpoint.READY).status()).isEqualTo(HealthStatus.PASS);
        JsonNode doc = document(HealthEndpoint.READY);
        assertThat(doc.get("status").asText()).isEqualTo("pass");
        JsonNode entry = doc.get("checks").get("db:responseTime").get(0);
        assertThat(entry.get("componentId").asText()).isEqualTo("db");
        assertThat(entry.get("componentType").asText()).isEqualTo("datastore");
        assertThat(entry.get("observedValue").asInt()).isEqualTo(3);
        assertThat(entry.get("observedUnit").asText()).isEqualTo("ms");
        assertThat(entry.get("status").asText()).isEqualTo("pass");
        assertThat(Instant.parse(entry.get("time").asText())).isNotNull();
        assertThat(entry.has("output")).as("output only when not pass").isFalse();
    }

    @Test
    void aHungProbeFailsAfterTheTimeoutWithoutBlockingTheEndpointOrPilingUpThreads() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        start(probe("stuck", Set.of(HealthEndpoint.READY), now -> {
            calls.incrementAndGet();
            release.await();
            return List.of();
        }));
        long started = System.nanoTime();
        HealthReport report = monitor.report(HealthEndpoint.READY);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(50);
        assertThat(report.status()).isEqualTo(HealthStatus.FAIL);
        assertThat(document(HealthEndpoint.READY).get("checks").get("stuck:availability").get(0).get("output").asText())
                .contains("no answer within");
        monitor.runProbes();
        monitor.runProbes();
        assertThat(calls.get()).as("a probe still running is not started again").isEqualTo(1);
        assertThat(monitor.report(HealthEndpoint.READY).status()).isEqualTo(HealthStatus.FAIL);
    }

    @Test
    void aThrowingProbeFailsWithItsReason() throws Exception {
        start(probe("broken", Set.of(HealthEndpoint.READY), now -> {
            throw new IllegalStateException("connection refused");
        }));
        assertThat(monitor.report(HealthEndpoint.READY).status()).isEqualTo(HealthStatus.FAIL);
        assertThat(document(HealthEndpoint.DETAILED).get("checks").get("broken:availability").get(0).get("output").asText())
                .isEqualTo("connection refused");
    }

    @Test
    void livenessIgnoresReadinessProbesAndWarnIsStill200() {
        start(probe("db", Set.of(HealthEndpoint.READY), now -> List.of(
                        HealthObservation.of("db", "responseTime", now).status(HealthStatus.FAIL, "down"))),
                probe("disk", Set.of(HealthEndpoint.READY, HealthEndpoint.LIVE), now -> List.of(
                        HealthObservation.of("disk", "free", now).status(HealthStatus.WARN, "low"))));
        assertThat(monitor.report(HealthEndpoint.LIVE).status()).isEqualTo(HealthStatus.WARN);
        assertThat(monitor.report(HealthEndpoint.LIVE).status().httpStatus()).isEqualTo(200);
        assertThat(monitor.report(HealthEndpoint.READY).status().httpStatus()).isEqualTo(503);
        assertThat(monitor.report(HealthEndpoint.DETAILED).status()).isEqualTo(HealthStatus.FAIL);
    }

    @Test
    void recoversWhenTheDependencyReturns() {
        AtomicInteger failing = new AtomicInteger(1);
        start(probe("db", Set.of(HealthEndpoint.READY), now -> List.of(failing.get() == 1
                ? HealthObservation.of("db", "ping", now).status(HealthStatus.FAIL, "down")
                : HealthObservation.of("db", "ping", now).pass())));
        assertThat(monitor.report(HealthEndpoint.READY).status()).isEqualTo(HealthStatus.FAIL);
        failing.set(0);
        monitor.runProbes();
        assertThat(monitor.report(HealthEndpoint.READY).status()).isEqualTo(HealthStatus.PASS);
        assertThat(metrics.getGauges().get("backstop.health.check.status[check=db:ping]").getValue()).isEqualTo(0);
    }

    interface Observer {
        List<HealthObservation> observe(Instant now) throws Exception;
    }

    private static HealthProbe probe(String name, Set<HealthEndpoint> endpoints, Observer observer) {
        return new HealthProbe() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Set<HealthEndpoint> endpoints() {
                return endpoints;
            }

            @Override
            public List<HealthObservation> observe(Instant now) throws Exception {
                return observer.observe(now);
            }
        };
    }

}
