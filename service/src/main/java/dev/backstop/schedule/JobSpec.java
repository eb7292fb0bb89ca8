package dev.backstop.schedule;

import dev.backstop.model.Misfire;

/**
 * One job the configuration asks for, on one cron schedule.
 *
 * @param kind     the job's kind: its Quartz group and class
 * @param subject  what it works on (a source name, a replica, or a pruning policy's name)
 * @param cron     Quartz cron expression
 * @param misfire  what a missed fire does
 */
public record JobSpec(JobKind kind, String subject, String cron, Misfire misfire) {

    /** The job's name in the API and in metrics: {@code kind.subject}, e.g. {@code snapshot.main-db}. */
    public String name() {
        return kind.group() + "." + subject;
    }

    /** The Quartz job group. */
    public String group() {
        return kind.group();
    }
}
