package dev.backstop.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.storage.s3.S3Failures;
import dev.failsafe.CircuitBreaker;
import dev.failsafe.CircuitBreakerOpenException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.file.NoSuchFileException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Only what can succeed on a second try is retried: never a 4xx, a missing object or a checksum
 * error. The S3 answers are classified by the S3 type's own {@link S3Failures}, as its guard does.
 */
class RetryableTest {

    private static S3Exception s3(int status) {
        return (S3Exception) S3Exception.builder().statusCode(status).message("status " + status).build();
    }

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of("connection refused", new ConnectException("Connection refused"), true),
                Arguments.of("read timeout", new SocketTimeoutException("Read timed out"), true),
                Arguments.of("SDK client error caused by a refused connection",
                        SdkClientException.create("Unable to execute HTTP request", new ConnectException("refused")), true),
                Arguments.of("wrapped in an IOException", new IOException("cannot write", s3(503)), true),
                Arguments.of("500", s3(500), true),
                Arguments.of("503 slow down", s3(503), true),
                Arguments.of("429 throttled", s3(429), true),
                Arguments.of("open breaker (wait for half-open)",
                        new CircuitBreakerOpenException(CircuitBreaker.ofDefaults()), true),
                Arguments.of("403 forbidden", s3(403), false),
                Arguments.of("404 not found", s3(404), false),
                Arguments.of("400 bad request", new IOException("cannot write", s3(400)), false),
                Arguments.of("missing object", new NoSuchFileException("s3://b/k"), false),
                Arguments.of("checksum mismatch", new IOException("checksum mismatch: the stored object's SHA-256 is ..."), false),
                Arguments.of("local disk full", new UncheckedIOException(new java.nio.file.FileSystemException("/x", null,
                        "No space left on device")), false),
                Arguments.of("our own interrupt", AbortedException.create("Thread was interrupted"), false),
                Arguments.of("a bug", new IllegalStateException("boom"), false));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("failures")
    void classifies(String name, Throwable failure, boolean retryable) {
        assertThat(Retryable.test(failure, S3Failures.INSTANCE)).isEqualTo(retryable);
    }

    @org.junit.jupiter.api.Test
    void theGenericRulesKnowNoClientLibrary() {
        // A guard without the S3 type's classifier (a database's) does not retry an S3 answer it cannot read...
        assertThat(Retryable.test(s3(503))).isFalse();
        // ...but still retries what the JDK says is transient, and never a file system error.
        assertThat(Retryable.test(new IOException("upload failed", new ConnectException("refused")))).isTrue();
        assertThat(Retryable.test(new java.nio.file.AccessDeniedException("/backups"))).isFalse();
        // A 403 deep in a chain that began with a client error is final for S3.
        assertThat(Retryable.test(SdkClientException.create("request failed", s3(403)), S3Failures.INSTANCE)).isFalse();
    }
}
