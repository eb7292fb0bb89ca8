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
        int logObjects = outcome.log().stream().mapToInt(dev.backstop.source.ArchivedLog.LogRange::objects).sum();
        String detail = "kept " + outcome.kept() + ", pruned " + outcome.pruned().size()
                + (outcome.pruned().isEmpty() ? "" : " " + outcome.pruned())
                + (logObjects == 0 ? "" : ", deleted " + logObjects + " log objects " + outcome.log().stream()
                        .map(r -> r.from() + ".." + r.to()).toList());
        if (!outcome.failed().isEmpty() || outcome.logError() != null) {
            throw new JobExecutionException(detail + (outcome.failed().isEmpty() ? "" : "; could not prune " + outcome.failed())
                    + (outcome.logError() == null ? "" : "; " + outcome.logError()));
        }
        context.setResult(JobResult.ok(detail));
    }
}
