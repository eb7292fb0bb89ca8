package dev.backstop.schedule;

import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import dev.backstop.core.SnapshotService;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotStatus;
import java.time.Instant;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;
import org.quartz.Scheduler;

/**
 * A scheduled snapshot of one source. One run per source at a time on this node (Quartz) and across
 * the cluster (the catalog's one-running-row-per-source index); each fire time makes at most one
 * snapshot row, which a recovered run takes over.
 */
@DisallowConcurrentExecution
public final class SnapshotJob implements Job {
    private final SnapshotService snapshots;

    public SnapshotJob(SnapshotService snapshots) {
        this.snapshots = snapshots;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        String source = context.getJobDetail().getKey().getName();
        Instant fireTime = fireTime(context);
        try {
            SnapshotRow row = snapshots.takeScheduled(source, fireTime, JobRunListener.actor(context), context.isRecovering());
            if (row.status() == SnapshotStatus.FAILED) {
                throw new JobExecutionException("snapshot " + row.id() + " failed: " + row.error());
            }
            context.setResult(JobResult.ok("snapshot " + row.id() + " " + row.status()));
        } catch (BackstopException e) {
            if (e.type() != ProblemType.CONFLICT) {
                throw new JobExecutionException(e.getMessage(), e);
            }
            context.setResult(JobResult.skipped(e.getMessage()));
        }
    }

    /** The fire time this run stands for: the original one when Quartz recovers a run a dead node left. */
    static Instant fireTime(JobExecutionContext context) {
        if (context.isRecovering()) {
            Object original = context.getMergedJobDataMap().get(Scheduler.FAILED_JOB_ORIGINAL_TRIGGER_SCHEDULED_FIRETIME_IN_MILLISECONDS);
            if (original != null) {
                return Instant.ofEpochMilli(Long.parseLong(original.toString()));
            }
        }
        return context.getScheduledFireTime().toInstant();
    }
}
