package dev.backstop.schedule;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A scheduled job as the API shows it.
 *
 * @param name             {@code kind.subject}, e.g. {@code snapshot.main-db}; used in the job's URLs
 * @param state            Quartz trigger state: NORMAL, PAUSED, BLOCKED (running), ERROR, COMPLETE
 * @param lastRun          the newest recorded run on any node, if any
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobView(
        String name,
        String kind,
        String subject,
        String cron,
        String timeZone,
        String misfire,
        Instant nextFireTime,
        Instant previousFireTime,
        String state,
        LastRun lastRun) {

    /** The newest run of a job: outcome (SUCCEEDED, FAILED, REFUSED for a skipped run), when, by whom. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record LastRun(String outcome, Instant at, String actor, String detail) {}
}
