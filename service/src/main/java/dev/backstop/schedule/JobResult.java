package dev.backstop.schedule;

/**
 * What a job run reports (set as the Quartz result); a job that throws is FAILED with the exception's reason.
 *
 * @param outcome ok, skipped or failed
 * @param detail  one line for the audit trail and the jobs API
 */
public record JobResult(String outcome, String detail) {

    public static JobResult ok(String detail) {
        return new JobResult("ok", detail);
    }

    public static JobResult skipped(String detail) {
        return new JobResult("skipped", detail);
    }

    public static JobResult failed(String detail) {
        return new JobResult("failed", detail);
    }
}
