package dev.backstop.schedule;

import dev.backstop.retention.RetentionService;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;

/** Applies one source's retention policy. */
@DisallowConcurrentExecution
public final class RetentionJob implements Job {
    private final RetentionService retention;

    public RetentionJob(RetentionService retention) {
        this.retention = retention;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        String source = context.getJobDetail().getKey().getName();
        RetentionService.Outcome outcome = retention.apply(source, JobRunListener.actor(context));
        String detail = "kept " + outcome.kept() + ", pruned " + outcome.pruned().size()
                + (outcome.pruned().isEmpty() ? "" : " " + outcome.pruned());
        if (!outcome.failed().isEmpty()) {
            throw new JobExecutionException(detail + "; could not prune " + outcome.failed());
        }
        context.setResult(JobResult.ok(detail));
    }
}
