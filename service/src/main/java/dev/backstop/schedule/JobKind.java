package dev.backstop.schedule;

import org.quartz.Job;

/**
 * The kinds of scheduled job. The kind is the Quartz job group and the prefix of a job's name
 * ({@code snapshot.main-db}); the scheduler removes jobs of every kind that the configuration no
 * longer asks for, so a new kind needs nothing beyond its constant here.
 */
public enum JobKind {
    SNAPSHOT("snapshot", SnapshotJob.class, true),
    RETENTION("retention", RetentionJob.class, false),
    VERIFY("verify", VerifyJob.class, false),
    REPLICATE("replicate", ReplicateJob.class, false),
    PRUNE("prune", DataPruneJob.class, false),
    CHECK("check", RepositoryCheckJob.class, false);

    private final String group;
    private final Class<? extends Job> jobClass;
    private final boolean recover;

    JobKind(String group, Class<? extends Job> jobClass, boolean recover) {
        this.group = group;
        this.jobClass = jobClass;
        this.recover = recover;
    }

    /** The Quartz job group and the name prefix. */
    public String group() {
        return group;
    }

    /** The Quartz job class. */
    public Class<? extends Job> jobClass() {
        return jobClass;
    }

    /** Whether a run is redone on another node (or after a restart) when the node running it dies. */
    public boolean recover() {
        return recover;
    }
}
