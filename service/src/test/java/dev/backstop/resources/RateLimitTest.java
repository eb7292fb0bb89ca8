package dev.backstop.resources;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Per-token rate limit: over the limit is 429 problem+json with Retry-After; other tokens are not affected. */
@ExtendWith(DropwizardExtensionsSupport.class)
class RateLimitTest {
    static final DropwizardAppExtension<BackstopConfiguration> APP = TestApps.withH2(
            ConfigOverride.config("api.rateLimit", "3"),
            ConfigOverride.config("api.rateLimitPeriod", "30s"));

    private String url() {
        return "http://127.0.0.1:" + APP.getLocalPort() + "/api/v1/info";
    }

    @Test
    void theFourthRequestInThePeriodIsRefusedForThatTokenOnly() {
        for (int i = 0; i < 3; i++) {
            assertThat(Http.get(url(), TestTokens.READER).status()).isEqualTo(200);
        }
        Http.Reply limited = Http.get(url(), TestTokens.READER);
        ProblemJsonTest.assertProblem(limited, 429, "too-many-requests");
        assertThat(limited.header("Retry-After")).isEqualTo("30");
        assertThat(limited.json().get("detail").asText()).contains("test-reader").contains("api.rateLimit");

        assertThat(Http.get(url(), TestTokens.OPERATOR).status()).as("another token has its own budget").isEqualTo(200);
        assertThat(Http.get(url(), null).status()).as("no token: 401 before any limit").isEqualTo(401);
    }
}
