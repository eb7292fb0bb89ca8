package dev.backstop.storage.s3;

import dev.backstop.resilience.FailureClassifier;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/**
 * The S3 type's part of retry classification: a 5xx (but 501 Not Implemented), 429 or throttle answer is retried, any other
 * answer (403, 404, 400) is final, our own abort is final, and a client-side failure (no
 * connection, a timeout) is retried unless a cause further down says no.
 */
public final class S3Failures implements FailureClassifier {
    public static final S3Failures INSTANCE = new S3Failures();

    private S3Failures() {
    }

    @Override
    public Verdict classify(Throwable t) {
        if (t instanceof AbortedException) {
            return Verdict.FINAL; // the SDK's word for our own interrupt (shutdown)
        }
        if (t instanceof SdkServiceException service) {
            if (service.statusCode() == 501) {
                return Verdict.FINAL; // Not Implemented: the store does not have the call, now or later
            }
            return service.statusCode() >= 500 || service.statusCode() == 429 || service.isThrottlingException() ? Verdict.RETRY
                    : Verdict.FINAL;
        }
        if (t instanceof ApiCallTimeoutException || t instanceof ApiCallAttemptTimeoutException || t instanceof SdkClientException) {
            return Verdict.RETRY_UNLESS_CAUSE_SAYS_NO;
        }
        return Verdict.UNKNOWN;
    }
}
