package dev.backstop.resources;

import dev.backstop.auth.ApiPrincipal;
import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import dev.failsafe.RateLimiter;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import java.security.Principal;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Failsafe bursty rate limiter per API token: {@code rateLimit} requests per period, then 429
 * with {@code Retry-After} until the next period. Runs after authentication, so it counts callers,
 * not guesses at tokens (unauthenticated requests are refused with 401 before they get here).
 */
@Priority(Priorities.AUTHORIZATION + 10)
public final class TokenRateLimit implements ContainerRequestFilter {
    private final int permits;
    private final Duration period;
    private final Map<String, RateLimiter<Object>> limiters = new ConcurrentHashMap<>();

    public TokenRateLimit(int permits, Duration period) {
        this.permits = permits;
        this.period = period;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        Principal principal = request.getSecurityContext().getUserPrincipal();
        if (!(principal instanceof ApiPrincipal caller)) {
            return;
        }
        RateLimiter<Object> limiter = limiters.computeIfAbsent(caller.name(),
                name -> RateLimiter.<Object>burstyBuilder(permits, period).build());
        if (!limiter.tryAcquirePermit()) {
            long retryAfter = Math.max(1, (period.toMillis() + 999) / 1000);
            throw new RateLimited(retryAfter, "token '" + caller.name() + "' made more than " + permits + " requests in "
                    + period.toMillis() + " ms (api.rateLimit); retry after " + retryAfter + " s");
        }
    }

    /** 429 with the seconds to wait, mapped to problem+json with a Retry-After header. */
    public static final class RateLimited extends BackstopException {
        private static final long serialVersionUID = 1L;
        private final long retryAfterSeconds;

        RateLimited(long retryAfterSeconds, String detail) {
            super(ProblemType.TOO_MANY_REQUESTS, detail);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }
}
