package dev.backstop.health;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * {@code healthMonitor:} how often probes run and how long one may take before it counts as failed.
 *
 * @param period  time between two runs of every probe; endpoints serve the last run's results
 * @param timeout a probe that has not answered after this long is reported as fail
 */
public record HealthConfig(
        @NotNull @MinDuration(value = 100, unit = TimeUnit.MILLISECONDS) Duration period,
        @NotNull @MinDuration(value = 10, unit = TimeUnit.MILLISECONDS) Duration timeout) {

    @JsonCreator
    public HealthConfig(@JsonProperty("period") Duration period, @JsonProperty("timeout") Duration timeout) {
        this.period = period == null ? Duration.seconds(5) : period;
        this.timeout = timeout == null ? Duration.seconds(2) : timeout;
    }

    public static HealthConfig defaults() {
        return new HealthConfig(null, null);
    }

    @io.dropwizard.validation.ValidationMethod(message = "healthMonitor.timeout must be shorter than healthMonitor.period")
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isTimeoutShorterThanPeriod() {
        return timeout.toNanoseconds() < period.toNanoseconds();
    }
}
