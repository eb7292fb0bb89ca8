package dev.backstop.schedule;

import dev.backstop.repository.RepositoryCheck;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;

/** Reads every pack of one target's repository and checks every chunk ({@code snapshots.checkSchedule}). */
@DisallowConcurrentExecution
public final class RepositoryCheckJob implements Job {
    private final RepositoryCheck check;

    public RepositoryCheckJob(RepositoryCheck check) {
        this.check = check;
    }

    @Override
    public void execute(JobExecutionContext context) throws JobExecutionException {
        String target = context.getJobDetail().getKey().getName();
        RepositoryCheck.Report report = check.check(target);
        String detail = report.packs() + " packs, " + report.chunks() + " chunks checked"
                + (report.contentVerified() ? "" : " (stored bytes only: no private key here)") + ", " + report.damaged().size()
                + " damaged";
        if (!report.damaged().isEmpty()) {
            throw new JobExecutionException(detail + ": " + report.damaged());
        }
        context.setResult(JobResult.ok(detail));
    }
}
