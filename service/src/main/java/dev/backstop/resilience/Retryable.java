package dev.backstop.resilience;

import dev.failsafe.CircuitBreakerOpenException;
import java.io.FileNotFoundException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.FileSystemException;

/**
 * What is worth retrying: the remote end was unreachable, timed out, failed on its side (5xx) or
 * throttled (429, SlowDown). Never a 4xx, a missing object, a local file system error or a
 * checksum mismatch: retrying those only hides them.
 */
public final class Retryable {
    private Retryable() {
    }

    /** With the generic rules only. */
    public static boolean test(Throwable failure) {
        return test(failure, FailureClassifier.GENERIC);
    }

    /** {@code component} is asked about each exception of the chain first. */
    public static boolean test(Throwable failure, FailureClassifier component) {
        boolean retryable = false;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            switch (component.classify(t)) {
                case RETRY:
                    return true;
                case FINAL:
                    return false;
                case RETRY_UNLESS_CAUSE_SAYS_NO:
                    retryable = true;
                    continue;
                default:
                    break;
            }
            if (t instanceof InterruptedException || t instanceof java.io.InterruptedIOException
                    && !(t instanceof SocketTimeoutException)) {
                return false; // our own interrupt (shutdown)
            }
            if (t instanceof FileSystemException || t instanceof FileNotFoundException) {
                return false;
            }
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                // 08: connection exceptions; 57P01-3: the server is shutting down, crashed or starting up;
                // 53300: too many connections. Anything else (syntax, constraint, permission) is final.
                return state.startsWith("08") || state.startsWith("57P") || state.equals("53300");
            }
            if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLRecoverableException) {
                retryable = true;
            }
            if (t instanceof CircuitBreakerOpenException || t instanceof ConnectException || t instanceof SocketTimeoutException || t instanceof NoRouteToHostException
                    || t instanceof UnknownHostException || t instanceof java.net.SocketException) {
                retryable = true; // keep looking: a cause further down may still say no
            }
        }
        return retryable;
    }
}
