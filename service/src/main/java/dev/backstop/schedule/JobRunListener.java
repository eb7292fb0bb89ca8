package dev.backstop.schedule;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.AuditDao;
import dev.backstop.db.AuditEvent;
import dev.backstop.model.AuditOutcome;
import dev.backstop.model.MetricName;
import java.time.Clock;
import java.time.Duration;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;
import org.quartz.JobListener;
import org.quartz.Trigger;
import org.quartz.listeners.TriggerListenerSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Records every job run: metrics (runs by job and outcome, duration, misfires), a log line and an
 * audit row (which is also where the jobs API finds each job's last outcome, on any node).
 */
final class JobRunListener extends TriggerListenerSupport implements JobListener {
    private static final Logger LOG = LoggerFactory.getLogger(JobRunListener.class);
    static final String SUBJECT_TYPE = "job";

    private final MetricRegistry metrics;
    private final AuditDao audit;
    private final Clock clock;

    JobRunListener(MetricRegistry metrics, AuditDao audit, Clock clock) {
        this.metrics = metrics;
        this.audit = audit;
        this.clock = clock;
    }

    @Override
    public String getName() {
        return "backstop-job-runs";
    }

    @Override
    public void jobToBeExecuted(JobExecutionContext context) {
        MDC.put("job", JobNames.of(context.getJobDetail().getKey()));
    }

    @Override
    public void jobExecutionVetoed(JobExecutionContext context) {
        MDC.remove("job");
    }

    @Override
    public void jobWasExecuted(JobExecutionContext context, JobExecutionException failure) {
        String job = JobNames.of(context.getJobDetail().getKey());
        try {
            JobResult result = failure != null ? JobResult.failed(reason(failure))
                    : context.getResult() instanceof JobResult r ? r : JobResult.ok(null);
            metrics.meter(MetricName.of("backstop.job.runs", "job", job, "outcome", result.outcome())).mark();
            metrics.timer(MetricName.of("backstop.job.duration", "job", job)).update(Duration.ofMillis(context.getJobRunTime()));
            AuditOutcome outcome = switch (result.outcome()) {
                case "ok" -> AuditOutcome.SUCCEEDED;
                case "skipped" -> AuditOutcome.REFUSED;
                default -> AuditOutcome.FAILED;
            };
            String detail = (context.isRecovering() ? "recovered run; " : "") + (result.detail() == null ? "" : result.detail());
            if (outcome == AuditOutcome.FAILED) {
                LOG.error("Job {} failed after {} ms: {}", job, context.getJobRunTime(), detail);
            } else {
                LOG.info("Job {} {} in {} ms{}", job, result.outcome(), context.getJobRunTime(), detail.isEmpty() ? "" : ": " + detail);
            }
            try {
                audit.append(new AuditEvent(null, clock.instant(), actor(context), "job.run", SUBJECT_TYPE, job, outcome,
                        truncate(detail, 4000)));
            } catch (RuntimeException e) {
                LOG.warn("Cannot record the run of job {} in the audit trail: {}", job, e.getMessage());
            }
        } finally {
            MDC.remove("job");
        }
    }

    /** The newest recorded run of a job, on any node. */
    java.util.Optional<dev.backstop.schedule.JobView.LastRun> latest(String job) {
        return audit.latestFor(SUBJECT_TYPE, job)
                .map(e -> new dev.backstop.schedule.JobView.LastRun(e.outcome().name(), e.occurredAt(), e.actor(),
                        e.detail() == null || e.detail().isEmpty() ? null : e.detail()));
    }

    @Override
    public void triggerMisfired(Trigger trigger) {
        String job = JobNames.of(trigger.getJobKey());
        metrics.meter(MetricName.of("backstop.job.misfires", "job", job)).mark();
        LOG.warn("Job {} missed its fire time {}; misfire policy {} applies", job, trigger.getNextFireTime(),
                trigger.getMisfireInstruction());
    }

    static String actor(JobExecutionContext context) {
        Object requestedBy = context.getMergedJobDataMap().get(BackstopScheduler.REQUESTED_BY);
        return requestedBy == null ? "scheduler" : requestedBy.toString();
    }

    private static String reason(Throwable failure) {
        Throwable t = failure.getCause() != null ? failure.getCause() : failure;
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private static String truncate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max);
    }
}
