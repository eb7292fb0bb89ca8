package dev.backstop.db;

import java.time.Instant;

/** A row of {@code snapshot_copies}: one storage target's copy of a snapshot. */
public record CopyRow(String snapshotId, String target, String status, int attempts, Instant copiedAt, Instant nextAttemptAt,
        String error) {}
