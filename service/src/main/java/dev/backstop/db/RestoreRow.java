package dev.backstop.db;

import dev.backstop.model.RestoreMode;
import dev.backstop.model.RestorePhase;
import java.time.Instant;

/**
 * A row of {@code restores}. {@code target} is the requested target as JSON; {@code detail} says what
 * was (or would be) done; {@code recoveredTo} is the point a point-in-time restore reached.
 */
public record RestoreRow(
        String id,
        String snapshotId,
        RestorePhase phase,
        RestoreMode mode,
        boolean dryRun,
        String target,
        String requestedBy,
        long bytesDone,
        Long bytesTotal,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        String error,
        String detail,
        Instant phaseStartedAt,
        Instant recoveredTo) {

    @org.jdbi.v3.core.mapper.reflect.JdbiConstructor
    public RestoreRow {
    }

    /** A new row, before it has a phase start. */
    public RestoreRow(String id, String snapshotId, RestorePhase phase, RestoreMode mode, boolean dryRun, String target,
            String requestedBy, long bytesDone, Long bytesTotal, Instant createdAt, Instant startedAt, Instant finishedAt,
            String error, String detail) {
        this(id, snapshotId, phase, mode, dryRun, target, requestedBy, bytesDone, bytesTotal, createdAt, startedAt, finishedAt,
                error, detail, null, null);
    }
}
