package dev.backstop.source;

/**
 * One condition of a source that the detailed health report shows, measured by the source type
 * itself (postgres-cluster: whether its WAL receiver streams, how far the archive lags, how old the
 * newest recoverable point is). {@code output} says what is wrong; it is ignored for PASS.
 */
public record SourceCondition(String measurement, Level level, Object value, String unit, String output) {

    /** PASS, WARN (degraded, still working) or FAIL (needs an operator). */
    public enum Level {
        PASS, WARN, FAIL
    }

    public static SourceCondition pass(String measurement, Object value, String unit) {
        return new SourceCondition(measurement, Level.PASS, value, unit, null);
    }
}
