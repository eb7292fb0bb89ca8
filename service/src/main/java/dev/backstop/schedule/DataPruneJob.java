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
    private volatile Thread runner;

    public DataPruneJob(DataPruner pruner) {
        this.pruner = pruner;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        runner = Thread.currentThread();
        try {
            DataPruner.Outcome outcome = pruner.prune(context.getJobDetail().getKey().getName(), JobRunListener.actor(context),
                    "schedule");
            context.setResult(JobResult.ok(outcome.summary()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JobExecutionException("interrupted between batches; the rows deleted so far stay deleted", e);
        } catch (Exception e) {
            throw new JobExecutionException(e.getMessage(), e);
        } finally {
            runner = null;
        }
    }

    @Override
    public void interrupt() {
        Thread t = runner;
        if (t != null) {
            t.interrupt();
        }
    }
}
