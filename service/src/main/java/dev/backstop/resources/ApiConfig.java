package dev.backstop.resources;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.validation.MaxDataSize;
import io.dropwizard.validation.MinDataSize;
import jakarta.validation.constraints.NotNull;

/**
 * {@code api:} limits of the REST API.
 *
 * @param maxRequestBodySize larger request bodies are refused with 413
 * @param rateLimit          requests each token may make per {@code rateLimitPeriod}; more get 429
 * @param rateLimitPeriod    the window of {@code rateLimit}
 */
public record ApiConfig(
        @NotNull @MinDataSize(1) @MaxDataSize(value = 64, unit = io.dropwizard.util.DataSizeUnit.MEBIBYTES) DataSize maxRequestBodySize,
        @jakarta.validation.constraints.Min(1) int rateLimit,
        @NotNull @io.dropwizard.validation.MinDuration(value = 1, unit = java.util.concurrent.TimeUnit.MILLISECONDS)
                io.dropwizard.util.Duration rateLimitPeriod) {

    @JsonCreator
    public ApiConfig(@JsonProperty("maxRequestBodySize") DataSize maxRequestBodySize,
            @JsonProperty("rateLimit") Integer rateLimit,
            @JsonProperty("rateLimitPeriod") io.dropwizard.util.Duration rateLimitPeriod) {
        this(maxRequestBodySize == null ? DataSize.kibibytes(64) : maxRequestBodySize,
                rateLimit == null ? 100 : rateLimit,
                rateLimitPeriod == null ? io.dropwizard.util.Duration.seconds(1) : rateLimitPeriod);
    }

    public static ApiConfig defaults() {
        return new ApiConfig(null, null, null);
    }
}
