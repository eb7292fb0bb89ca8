package dev.backstop.resilience;

/**
 * What one kind of component knows about its own failures, asked for each exception of a cause
 * chain before the generic rules of {@link Retryable}. A storage type contributes its own (the S3
 * type knows the AWS SDK's exceptions), so {@code resilience} names no client library.
 */
@FunctionalInterface
public interface FailureClassifier {

    /** The verdict on one exception of a chain. */
    enum Verdict {
        /** Worth another try (a 5xx, a throttle). */
        RETRY,
        /** Retrying only hides it (a 4xx, our own abort). */
        FINAL,
        /** Transient by itself, but a cause further down may still say no. */
        RETRY_UNLESS_CAUSE_SAYS_NO,
        /** Not one of this component's exceptions: the generic rules decide. */
        UNKNOWN
    }

    Verdict classify(Throwable failure);

    /** Knows nothing of its own: only the generic rules apply. */
    FailureClassifier GENERIC = failure -> Verdict.UNKNOWN;
}
