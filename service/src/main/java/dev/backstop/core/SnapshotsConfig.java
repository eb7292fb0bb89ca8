package dev.backstop.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;

/**
 * {@code snapshots:} how snapshots run.
 *
 * @param maxConcurrent snapshots running at once (each of a different source); more wait in line
 * @param stagingPath   scratch directory (SQLite copies; restores later); cleaned of leftovers at startup
 */
public record SnapshotsConfig(@Min(1) @Max(16) int maxConcurrent, @NotNull Path stagingPath) {

    @JsonCreator
    public SnapshotsConfig(@JsonProperty("maxConcurrent") Integer maxConcurrent, @JsonProperty("stagingPath") Path stagingPath) {
        this(maxConcurrent == null ? 2 : maxConcurrent, stagingPath == null ? Path.of("./var/staging") : stagingPath);
    }

    public static SnapshotsConfig defaults() {
        return new SnapshotsConfig(null, null);
    }
}
