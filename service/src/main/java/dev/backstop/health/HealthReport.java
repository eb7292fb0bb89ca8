package dev.backstop.health;

import java.nio.charset.StandardCharsets;

/** A rendered health+json document and its overall status, ready to be written as is. */
public record HealthReport(HealthStatus status, byte[] body) {
    static final HealthReport NOT_STARTED = new HealthReport(HealthStatus.FAIL,
            "{\"status\":\"fail\",\"output\":\"health monitor has not run yet\"}".getBytes(StandardCharsets.UTF_8));
}
