package dev.backstop.resilience;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.MetricName;
import dev.failsafe.CircuitBreaker;
import dev.failsafe.CircuitBreakerOpenException;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.Timeout;
import dev.failsafe.TimeoutExceededException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Failsafe policies of one component (a storage target): retry with exponential backoff and
 * jitter for retryable failures, then a circuit breaker, then (for calls that do not stream) a
 * timeout. Every policy event becomes a metric
 * ({@code backstop_resilience_events_total{component, policy, event}}) and a log line with the
 * same fields; the breaker's state is a gauge (0 closed, 1 half-open, 2 open).
 */
public final class Guard {
    private static final Logger LOG = LoggerFactory.getLogger(Guard.class);

    /** A call that may throw IOException. */
    @FunctionalInterface
    public interface IoCall<T> {
        T call() throws IOException;
    }

    private final String component;
    private final CircuitBreaker<Object> breaker;
    private final FailsafeExecutor<Object> streaming;
    private final FailsafeExecutor<Object> bounded;
    private final FailsafeExecutor<Object> once;
    private final MetricRegistry metrics;
    private final AtomicReference<String> lastFailure = new AtomicReference<>();
    /** Recent success rate and latency (exponentially weighted), for the target's quality score. */
    private volatile double successRate = 1.0;
    private volatile double latencyMillis = 0.0;

    /**
     * @param waitWhileOpen whether retries keep waiting while the breaker is open (an upload part can
     *                      wait for the store; a database caller, often a REST request, should fail fast)
     */
    Guard(String component, ResilienceConfig config, MetricRegistry metrics, boolean waitWhileOpen, FailureClassifier failures) {
        this.component = component;
        this.metrics = metrics;
        ResilienceConfig.Retry r = config.retry();
        RetryPolicy<Object> retry = RetryPolicy.builder()
                .handleIf((result, failure) -> failure != null && Retryable.test(failure, failures)
                        && (waitWhileOpen || !(failure instanceof CircuitBreakerOpenException)))
                .withBackoff(Duration.ofMillis(r.initialDelay().toMilliseconds()), Duration.ofMillis(r.maxDelay().toMilliseconds()))
                .withJitter(r.jitter())
                .withMaxDuration(Duration.ofMillis(r.maxDuration().toMilliseconds()))
                .withMaxRetries(r.maxRetries())
                .onRetryScheduled(e -> event("retry", "retry", "attempt=" + e.getAttemptCount() + " delay_ms=" + e.getDelay().toMillis()
                        + " reason=" + reason(e.getLastException())))
                .onRetriesExceeded(e -> event("retry", "exceeded", "attempts=" + e.getAttemptCount() + " elapsed_ms="
                        + e.getElapsedTime().toMillis() + " reason=" + reason(e.getException())))
                .build();
        ResilienceConfig.Breaker b = config.breaker();
        this.breaker = CircuitBreaker.builder()
                .handleIf((result, failure) -> failure != null && Retryable.test(failure, failures)
                        && !(failure instanceof CircuitBreakerOpenException))
                .withFailureThreshold(b.failureThreshold())
                .withDelay(Duration.ofMillis(b.delay().toMilliseconds()))
                .withSuccessThreshold(b.successThreshold())
                .onOpen(e -> event("breaker", "open", "after=" + b.failureThreshold() + " failures; last=" + lastFailure.get()
                        + "; half-opens in " + b.delay()))
                .onHalfOpen(e -> event("breaker", "half_open", "letting trial calls through"))
                .onClose(e -> event("breaker", "close", "calls succeed again"))
                .onFailure(e -> lastFailure.set(reason(e.getException())))
                .build();
        // No withInterrupt(): an interrupted thread that then touches the H2 catalog would close its
        // file channel and with it the database. The calls themselves are bounded (SDK apiCallTimeout,
        // JDBC connect and socket timeouts); this marks a call that ran over as failed.
        Timeout<Object> timeout = Timeout.builder(Duration.ofMillis(config.timeout().toMilliseconds()))
                .onFailure(e -> event("timeout", "exceeded", "limit=" + config.timeout()))
                .build();
        this.streaming = Failsafe.with(retry, breaker);
        this.bounded = Failsafe.with(timeout, retry, breaker);
        this.once = Failsafe.with(breaker);
        metrics.gauge(MetricName.of("backstop.resilience.quality.score", "component", component), () -> this::score);
        metrics.gauge(MetricName.of("backstop.circuit.breaker.state", "component", component), () -> () -> switch (breaker.getState()) {
            case CLOSED -> 0;
            case HALF_OPEN -> 1;
            case OPEN -> 2;
        });
    }

    public String component() {
        return component;
    }

    public CircuitBreaker.State state() {
        return breaker.getState();
    }

    /** Why the breaker is open, for health and for the error new work fails with. */
    public String openReason() {
        return "circuit breaker open (last failure: " + lastFailure.get() + "); trial calls again in "
                + Math.max(0, breaker.getRemainingDelay().toSeconds()) + " s";
    }

    /**
     * Fails at once while the breaker is open and its delay has not passed: new work (a snapshot)
     * should not start against a component that is known to be down.
     */
    public void checkClosed() throws IOException {
        if (breaker.isOpen() && breaker.getRemainingDelay().toMillis() > 0) {
            event("breaker", "rejected", "new work refused while open");
            throw new IOException(component + " is unavailable: " + openReason());
        }
    }

    /** A call that finishes quickly: timeout, retries, breaker. */
    public <T> T call(String what, IoCall<T> call) throws IOException {
        return run(bounded, what, call);
    }

    /** A call whose duration depends on the data (a part upload): retries and breaker, no overall timeout. */
    public <T> T callStreaming(String what, IoCall<T> call) throws IOException {
        return run(streaming, what, call);
    }

    /** A call that may throw SQLException (getting a database connection). */
    @FunctionalInterface
    public interface SqlCall<T> {
        T call() throws java.sql.SQLException;
    }

    /** Gets a database connection: timeout, retries for connection failures, breaker. */
    public <T> T connect(String what, SqlCall<T> call) throws java.sql.SQLException {
        try {
            return call(what, () -> {
                try {
                    return call.call();
                } catch (java.sql.SQLException e) {
                    throw new SqlFailure(e);
                }
            });
        } catch (SqlFailure failure) {
            throw failure.sql;
        } catch (IOException e) { // breaker open or timeout: say so as a connection failure
            throw new java.sql.SQLTransientConnectionException(e.getMessage(), "08001", e);
        }
    }

    /** Carries an SQLException through the IOException-based call path (and keeps its SQLState for Retryable). */
    private static final class SqlFailure extends IOException {
        private final java.sql.SQLException sql;

        SqlFailure(java.sql.SQLException sql) {
            super(sql.getMessage(), sql);
            this.sql = sql;
        }
    }

    /** One attempt through the breaker only (health probes): refused while open, a trial call when half-open. */
    public <T> T probe(String what, IoCall<T> call) throws IOException {
        return run(once, what, call);
    }

    private <T> T run(FailsafeExecutor<Object> executor, String what, IoCall<T> call) throws IOException {
        try {
            @SuppressWarnings("unchecked")
            T result = (T) executor.get(() -> measured(call));
            return result;
        } catch (CircuitBreakerOpenException e) {
            event("breaker", "rejected", what + " refused while open");
            throw new IOException(what + ": " + component + " is unavailable: " + openReason(), e);
        } catch (TimeoutExceededException e) {
            throw new IOException(what + ": no answer from " + component + " within the resilience.timeout", e);
        } catch (FailsafeException e) {
            Throwable cause = e.getCause();
            if (cause instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + ": interrupted");
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(what + ": " + reason(cause), cause);
        }
    }

    private <T> T measured(IoCall<T> call) throws IOException {
        long started = System.nanoTime();
        try {
            T result = call.call();
            record(true, started);
            return result;
        } catch (IOException | RuntimeException e) {
            record(false, started);
            throw e;
        }
    }

    private void record(boolean success, long startedNanos) {
        double millis = (System.nanoTime() - startedNanos) / 1e6;
        successRate = 0.8 * successRate + (success ? 0.2 : 0.0);
        latencyMillis = latencyMillis == 0.0 ? millis : 0.8 * latencyMillis + 0.2 * millis;
    }

    /**
     * Quality from 0 to 1: the recent success rate, discounted by recent latency (1 s costs half).
     * An open breaker scores 0. Orders the targets a restore reads from and scales a replica's backoff.
     */
    public double score() {
        if (breaker.isOpen()) {
            return 0.0;
        }
        return successRate / (1.0 + latencyMillis / 1000.0);
    }

    private void event(String policy, String event, String detail) {
        metrics.meter(MetricName.of("backstop.resilience.events", "component", component, "policy", policy, "event", event)).mark();
        // The same fields in the MDC, so JSON logs carry them as fields, not only inside the message.
        try (var c = org.slf4j.MDC.putCloseable("resilience_component", component);
                var p = org.slf4j.MDC.putCloseable("resilience_policy", policy);
                var e = org.slf4j.MDC.putCloseable("resilience_event", event)) {
            if (event.equals("close") || event.equals("half_open")) {
                LOG.info("resilience component={} policy={} event={} {}", component, policy, event, detail);
            } else {
                LOG.warn("resilience component={} policy={} event={} {}", component, policy, event, detail);
            }
        }
    }

    private static String reason(Throwable t) {
        if (t == null) {
            return "none";
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root && root.getMessage() == null) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return message.length() > 300 ? message.substring(0, 300) : message;
    }
}
