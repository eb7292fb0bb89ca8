package dev.backstop.schedule;

import org.quartz.Job;

/**
 * One job the configuration asks for, on one cron schedule.
 *
 * @param kind     the job group: snapshot, retention, verify or prune
 * @param subject  what it works on (a source name, or a pruning policy's name)
 * @param type     the Quartz job class
 * @param cron     Quartz cron expression
 * @param misfire  what a missed fire does
 * @param recover  rerun on another node (or after a restart) when the node running it dies
 */
public record JobSpec(String kind, String subject, Class<? extends Job> type, String cron, Misfire misfire, boolean recover) {

    /** The job's name in the API and in metrics: {@code kind.subject}, e.g. {@code snapshot.main-db}. */
    public String name() {
        return kind + "." + subject;
    }
}
