package dev.backstop.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * {@code compression:} zstd settings for every snapshot.
 *
 * @param level   zstd level, 1 (fastest) to 19; 3 is zstd's own default
 * @param workers zstd worker threads; 0 compresses on the writing thread (like {@code zstd -T1})
 */
public record CompressionConfig(@Min(1) @Max(19) int level, @Min(0) @Max(64) int workers) {

    @JsonCreator
    public CompressionConfig(@JsonProperty("level") Integer level, @JsonProperty("workers") Integer workers) {
        this(level == null ? 3 : level, workers == null ? 0 : workers);
    }

    public static CompressionConfig defaults() {
        return new CompressionConfig(null, null);
    }

    /** As written in manifests, e.g. {@code zstd-3}. */
    public String describe() {
        return "zstd-" + level;
    }
}
