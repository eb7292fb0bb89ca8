package dev.backstop.health;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * One entry of a health+json {@code checks} map. {@code component} and {@code measurement} form its
 * key ({@code component:measurement}); the rest is the entry itself. {@code output} is only written
 * when the status is not pass.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HealthObservation(
        @JsonIgnore String component,
        @JsonIgnore String measurement,
        String componentId,
        String componentType,
        Object observedValue,
        String observedUnit,
        HealthStatus status,
        Instant time,
        String output) {

    public HealthObservation {
        Objects.requireNonNull(component, "component");
        Objects.requireNonNull(measurement, "measurement");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(time, "time");
        if (status == HealthStatus.PASS) {
            output = null;
        }
    }

    @JsonIgnore
    public String key() {
        return component + ":" + measurement;
    }

    /** Starts an observation of {@code component:measurement}; finish it with one of the status methods. */
    public static Builder of(String component, String measurement, Instant time) {
        return new Builder(component, measurement, time);
    }

    public static final class Builder {
        private final String component;
        private final String measurement;
        private final Instant time;
        private String componentId;
        private String componentType;
        private Object observedValue;
        private String observedUnit;

        private Builder(String component, String measurement, Instant time) {
            this.component = component;
            this.measurement = measurement;
            this.time = time;
            this.componentId = component;
        }

        public Builder id(String id) {
            this.componentId = id;
            return this;
        }

        public Builder type(String type) {
            this.componentType = type;
            return this;
        }

        public Builder value(Object value, String unit) {
            this.observedValue = value;
            this.observedUnit = unit;
            return this;
        }

        public HealthObservation pass() {
            return status(HealthStatus.PASS, null);
        }

        public HealthObservation status(HealthStatus status, String output) {
            return new HealthObservation(component, measurement, componentId, componentType,
                    observedValue, observedUnit, status, time, output);
        }
    }
}
