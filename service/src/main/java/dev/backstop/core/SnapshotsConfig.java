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
 * @param format        {@code chunked} (the default): snapshots are chunk lists in the target's deduplicated
 *                      repository; {@code object}: each snapshot is one object, as before 0.6
 * @param packSize      chunks are stored in packs of about this size
 * @param pruneGracePeriod how long a pack no snapshot references waits before it is deleted
 * @param checkSchedule Quartz cron of the repository check of each target (every pack read, every chunk
 *                      checked); {@code none} turns it off
 * @param repackThreshold a prune rewrites a pack whose chunks still in use take less than this percent of
 *                      it (default 50); 0 turns repacking off
 */
public record SnapshotsConfig(@Min(1) @Max(16) int maxConcurrent, @NotNull Path stagingPath, @NotNull Format format,
        @NotNull io.dropwizard.util.DataSize packSize, @NotNull io.dropwizard.util.Duration pruneGracePeriod,
        @dev.backstop.model.Cron String checkSchedule, @Min(0) @Max(100) int repackThreshold) {

    /** How new snapshots are stored. */
    public enum Format {
        CHUNKED, OBJECT;

        @com.fasterxml.jackson.annotation.JsonCreator
        public static Format of(String text) {
            for (Format f : values()) {
                if (f.name().equalsIgnoreCase(text)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("snapshots.format must be chunked or object, not '" + text + "'");
        }
    }

    @JsonCreator
    public SnapshotsConfig(@JsonProperty("maxConcurrent") Integer maxConcurrent, @JsonProperty("stagingPath") Path stagingPath,
            @JsonProperty("format") Format format, @JsonProperty("packSize") io.dropwizard.util.DataSize packSize,
            @JsonProperty("pruneGracePeriod") io.dropwizard.util.Duration pruneGracePeriod,
            @JsonProperty("checkSchedule") String checkSchedule, @JsonProperty("repackThreshold") Integer repackThreshold) {
        this(maxConcurrent == null ? 2 : maxConcurrent, stagingPath == null ? Path.of("./var/staging") : stagingPath,
                format == null ? Format.CHUNKED : format,
                packSize == null ? io.dropwizard.util.DataSize.mebibytes(16) : packSize,
                pruneGracePeriod == null ? io.dropwizard.util.Duration.hours(1) : pruneGracePeriod,
                checkSchedule == null ? "0 30 3 ? * SUN" : "none".equals(checkSchedule) ? null : checkSchedule,
                repackThreshold == null ? 50 : repackThreshold);
    }

    public static SnapshotsConfig defaults() {
        return new SnapshotsConfig(null, null, null, null, null, null, null);
    }
}
