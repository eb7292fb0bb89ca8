package dev.backstop.schedule;

import dev.backstop.pruning.DataPruner;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.InterruptableJob;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;

/** One data pruning policy on its schedule. */
@DisallowConcurrentExecution
public final class DataPruneJob implements InterruptableJob {
    private final DataPruner pruner;
    private volatile boolean cancelled;

    public DataPruneJob(DataPruner pruner) {
        this.pruner = pruner;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        try {
            DataPruner.Outcome outcome = pruner.prune(context.getJobDetail().getKey().getName(), JobRunListener.actor(context),
                    "schedule", () -> cancelled);
            context.setResult(JobResult.ok(outcome.summary()));
        } catch (InterruptedException e) {
            throw new JobExecutionException(e.getMessage() + "; the rows deleted so far stay deleted", e);
        } catch (Exception e) {
            throw new JobExecutionException(e.getMessage(), e);
        }
    }

    /** Stops between two batches (cooperatively: a thread interrupt could close an H2 database's file). */
    @Override
    public void interrupt() {
        cancelled = true;
    }
}
