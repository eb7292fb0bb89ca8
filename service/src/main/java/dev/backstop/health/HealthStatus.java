package dev.backstop.health;

import com.fasterxml.jackson.annotation.JsonValue;

/** Status values of the draft "Health Check Response Format for HTTP APIs", ordered by severity. */
public enum HealthStatus {
    PASS, WARN, FAIL;

    @JsonValue
    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public HealthStatus worse(HealthStatus other) {
        return other.ordinal() > ordinal() ? other : this;
    }

    /** HTTP status for a document with this overall status: pass and warn are 200, fail is 503. */
    public int httpStatus() {
        return this == FAIL ? 503 : 200;
    }
}
