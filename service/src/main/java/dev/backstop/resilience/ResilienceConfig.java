package dev.backstop.resilience;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

/**
 * {@code resilience:} the Failsafe policies around calls to storage targets, built once per target.
 *
 * @param retry   retries with exponential backoff and jitter, for retryable failures only
 * @param breaker a circuit breaker per target
 * @param timeout limit on one non-streaming call (put, delete, list, exists, open) including its retries
 */
public record ResilienceConfig(@Valid @NotNull Retry retry, @Valid @NotNull Breaker breaker, @NotNull Duration timeout,
        @Valid @NotNull Database database) {

    @JsonCreator
    public ResilienceConfig(@JsonProperty("retry") Retry retry, @JsonProperty("breaker") Breaker breaker,
            @JsonProperty("timeout") Duration timeout, @JsonProperty("database") Database database) {
        this.retry = retry == null ? Retry.defaults() : retry;
        this.breaker = breaker == null ? Breaker.defaults() : breaker;
        this.timeout = timeout == null ? Duration.minutes(2) : timeout;
        this.database = database == null ? Database.defaults() : database;
    }

    public static ResilienceConfig defaults() {
        return new ResilienceConfig(null, null, null, null);
    }

    /** The policies for database connections, as a config of their own (API calls wait on them, so they are short). */
    public ResilienceConfig forDatabases() {
        return new ResilienceConfig(database.retry(), database.breaker(), database.timeout(), database);
    }

    /**
     * {@code resilience.database}: getting a connection to the catalog or to a source database is
     * retried (connection refused, server shutting down or not yet accepting connections, too many
     * connections) behind a breaker per database. Short defaults: a REST call waits on these.
     */
    public record Database(@Valid @NotNull Retry retry, @Valid @NotNull Breaker breaker, @NotNull Duration timeout) {

        @JsonCreator
        public Database(@JsonProperty("retry") Retry retry, @JsonProperty("breaker") Breaker breaker,
                @JsonProperty("timeout") Duration timeout) {
            this.retry = retry == null ? new Retry(Duration.milliseconds(200), Duration.seconds(2), 0.25, Duration.seconds(10), 10) : retry;
            this.breaker = breaker == null ? new Breaker(5, Duration.seconds(10), 1) : breaker;
            this.timeout = timeout == null ? Duration.seconds(15) : timeout;
        }

        static Database defaults() {
            return new Database(null, null, null);
        }
    }

    /**
     * @param initialDelay first delay; each next one doubles (1s, 2s, 4s ...)
     * @param maxDelay     delays stop growing here
     * @param jitter       each delay varies randomly by up to this fraction
     * @param maxDuration  no more retries once this long has passed since the first attempt
     * @param maxRetries   and no more than this many
     */
    public record Retry(@NotNull Duration initialDelay, @NotNull Duration maxDelay,
            @DecimalMin("0") @DecimalMax("1") double jitter, @NotNull Duration maxDuration, @Min(0) int maxRetries) {

        @JsonCreator
        public Retry(@JsonProperty("initialDelay") Duration initialDelay, @JsonProperty("maxDelay") Duration maxDelay,
                @JsonProperty("jitter") Double jitter, @JsonProperty("maxDuration") Duration maxDuration,
                @JsonProperty("maxRetries") Integer maxRetries) {
            this(initialDelay == null ? Duration.seconds(1) : initialDelay, maxDelay == null ? Duration.seconds(60) : maxDelay,
                    jitter == null ? 0.25 : jitter, maxDuration == null ? Duration.minutes(5) : maxDuration,
                    maxRetries == null ? 20 : maxRetries);
        }

        static Retry defaults() {
            return new Retry(null, null, null, null, null);
        }

        @JsonIgnore
        @ValidationMethod(message = "resilience.retry.initialDelay must be shorter than resilience.retry.maxDelay")
        public boolean isDelayOrdered() {
            return initialDelay.toMilliseconds() < maxDelay.toMilliseconds();
        }
    }

    /**
     * @param failureThreshold consecutive retryable failures that open the breaker
     * @param delay            how long it stays open before letting a trial call through (half-open)
     * @param successThreshold successful trial calls that close it again
     */
    public record Breaker(@Min(1) int failureThreshold, @NotNull Duration delay, @Min(1) int successThreshold) {

        @JsonCreator
        public Breaker(@JsonProperty("failureThreshold") Integer failureThreshold, @JsonProperty("delay") Duration delay,
                @JsonProperty("successThreshold") Integer successThreshold) {
            this(failureThreshold == null ? 5 : failureThreshold, delay == null ? Duration.seconds(30) : delay,
                    successThreshold == null ? 2 : successThreshold);
        }

        static Breaker defaults() {
            return new Breaker(null, null, null);
        }
    }
}
