package dev.backstop.schedule;

import dev.backstop.core.Replicator;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;

/** Catches one replica target up: copies every snapshot it lacks whose next attempt is due. */
@DisallowConcurrentExecution
public final class ReplicateJob implements Job {
    private final Replicator replicator;

    public ReplicateJob(Replicator replicator) {
        this.replicator = replicator;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        boolean byHand = context.getMergedJobDataMap().containsKey(BackstopScheduler.REQUESTED_BY);
        Replicator.Outcome outcome = replicator.catchUp(context.getJobDetail().getKey().getName(), byHand);
        String detail = "copied " + outcome.copied() + ", failed " + outcome.failed()
                + (outcome.enqueued() > 0 ? ", " + outcome.enqueued() + " older snapshots queued" : "")
                + (outcome.remaining() > 0 ? ", " + outcome.remaining() + " still to copy" : "");
        if (outcome.failed() > 0 && outcome.copied() == 0) {
            throw new JobExecutionException(detail + "; see the snapshot copies' errors in the log");
        }
        context.setResult(JobResult.ok(detail));
    }
}
