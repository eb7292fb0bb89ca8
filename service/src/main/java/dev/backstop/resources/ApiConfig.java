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
 */
public record ApiConfig(@NotNull @MinDataSize(1) @MaxDataSize(value = 64, unit = io.dropwizard.util.DataSizeUnit.MEBIBYTES) DataSize maxRequestBodySize) {

    @JsonCreator
    public ApiConfig(@JsonProperty("maxRequestBodySize") DataSize maxRequestBodySize) {
        this.maxRequestBodySize = maxRequestBodySize == null ? DataSize.kibibytes(64) : maxRequestBodySize;
    }

    public static ApiConfig defaults() {
        return new ApiConfig(null);
    }
}
