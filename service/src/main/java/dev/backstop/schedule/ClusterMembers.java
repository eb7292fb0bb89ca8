package dev.backstop.schedule;

import java.time.Clock;
import org.jdbi.v3.core.Jdbi;

/**
 * Which scheduler nodes are alive, as Quartz's clustered job store records them: a node checks in
 * every {@code clusterCheckinInterval}; one that has not for about twice that (Quartz's own margin)
 * is dead, and Quartz removes its row once another node has recovered its jobs.
 */
public final class ClusterMembers {
    private static final long QUARTZ_MARGIN_MILLIS = 7_500;

    private final Jdbi jdbi;
    private final String schedulerName;
    private final Clock clock;

    public ClusterMembers(Jdbi jdbi, String schedulerName, Clock clock) {
        this.jdbi = jdbi;
        this.schedulerName = schedulerName;
        this.clock = clock;
    }

    public boolean alive(String instanceId) {
        return jdbi.withHandle(h -> h.createQuery("""
                        SELECT LAST_CHECKIN_TIME + 2 * CHECKIN_INTERVAL FROM QRTZ_SCHEDULER_STATE
                        WHERE SCHED_NAME = :name AND INSTANCE_NAME = :instance
                        """)
                .bind("name", schedulerName)
                .bind("instance", instanceId)
                .mapTo(Long.class)
                .findOne()
                .map(deadline -> deadline + QUARTZ_MARGIN_MILLIS >= clock.millis())
                .orElse(false));
    }
}
