package dev.backstop.model;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /api/v1/restores}.
 *
 * @param snapshotId  a COMPLETED snapshot; optional for a point-in-time restore (then the newest base
 *                    backup of {@code source} that finished before the point is used)
 * @param source      a point-in-time restore: the source (postgres-cluster) whose WAL is replayed
 * @param pointInTime a point-in-time restore: an ISO-8601 time with an offset, or {@code latest}
 * @param target      where to restore: {@code {"path": ...}} for directory sources,
 *                    {@code {"database": ...}} for postgres sources, {@code {"dataDirectory": ..., "port": ...}}
 *                    for postgres-cluster sources
 * @param mode        {@code new} (beside the live data; the target must not exist) or {@code replace}
 *                    (swap the live data; needs the admin role)
 * @param dryRun      download and verify only, then report what would be changed
 * @param force       postgres replace: terminate the live database's connections instead of refusing
 * @param dropReplaced postgres replace: drop the replaced database after the swap (default: keep it renamed)
 * @param tables      a table-level restore ("undo"): these tables ({@code schema.table}, or {@code schema.*})
 *                    as they were, created in a NEW schema of a live database ({@code target.database},
 *                    {@code target.schema}); null or absent restores the whole snapshot
 */
public record RestoreRequest(
        @JsonDeserialize(using = StrictString.class) String snapshotId,
        @JsonDeserialize(using = StrictString.class) String source,
        @JsonDeserialize(using = StrictString.class) String pointInTime,
        @NotNull Map<String, Object> target,
        @NotNull @Pattern(regexp = "new|replace", message = "must be new or replace") @JsonDeserialize(using = StrictString.class)
        String mode,
        boolean dryRun,
        boolean force,
        boolean dropReplaced,
        List<String> tables) {

    /** A whole restore, of one snapshot or to a point in time. */
    public RestoreRequest(String snapshotId, String source, String pointInTime, Map<String, Object> target, String mode,
            boolean dryRun, boolean force, boolean dropReplaced) {
        this(snapshotId, source, pointInTime, target, mode, dryRun, force, dropReplaced, null);
    }

    /** A restore of one snapshot as it was stored. */
    public RestoreRequest(String snapshotId, Map<String, ?> target, String mode, boolean dryRun, boolean force,
            boolean dropReplaced) {
        this(snapshotId, null, null, target == null ? null : Map.copyOf(target), mode, dryRun, force, dropReplaced);
    }

    /**
     * The target's settings as the source's plug-in reads them: each value as text ({@code 55432},
     * {@code true}). The request keeps the JSON types, so the restore shows the target as it was sent.
     */
    public Map<String, String> targetSettings() {
        Map<String, String> settings = new java.util.LinkedHashMap<>();
        target.forEach((key, value) -> {
            if (value instanceof Map<?, ?> || value instanceof java.util.Collection<?>) {
                throw new IllegalArgumentException("target." + key + " must be a string, a number or a boolean");
            }
            settings.put(key, value == null ? null : String.valueOf(value));
        });
        return settings;
    }
}
