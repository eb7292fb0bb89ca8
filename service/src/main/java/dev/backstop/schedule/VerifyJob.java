package dev.backstop.schedule;

import dev.backstop.core.BackstopException;
import dev.backstop.core.VerificationService;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;

/** The verification drill of one source. */
@DisallowConcurrentExecution
public final class VerifyJob implements Job {
    private final VerificationService verification;

    public VerifyJob(VerificationService verification) {
        this.verification = verification;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        String source = context.getJobDetail().getKey().getName();
        VerificationService.Outcome outcome;
        try {
            outcome = verification.verifyNewest(source);
        } catch (BackstopException e) {
            context.setResult(JobResult.skipped(e.getMessage()));
            return;
        }
        if (!outcome.passed()) {
            throw new JobExecutionException("snapshot " + outcome.snapshotId() + " failed verification: " + outcome.detail());
        }
        context.setResult(JobResult.ok("snapshot " + outcome.snapshotId() + " verified: " + outcome.detail()));
    }
}
