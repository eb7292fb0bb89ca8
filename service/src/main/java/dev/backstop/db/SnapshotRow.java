package dev.backstop.db;

import dev.backstop.core.SnapshotOrigin;
import dev.backstop.core.SnapshotStatus;
import java.time.Instant;

/** A row of {@code snapshots}. Sizes, checksum and keys are null until the snapshot completes. */
public record SnapshotRow(
        String id,
        String sourceName,
        String sourceType,
        SnapshotStatus status,
        SnapshotOrigin origin,
        String requestedBy,
        Instant startedAt,
        Instant finishedAt,
        Long rawBytes,
        Long storedBytes,
        String sha256,
        String storageTarget,
        String storageKey,
        String manifestKey,
        String compression,
        String encryptionFingerprint,
        Instant verifiedAt,
        String error,
        String toolVersions,
        Integer filesChanged,
        Integer filesVanished) {

    /** This row as COMPLETED with what the pipeline measured. */
    public SnapshotRow completed(Instant finished, long raw, long stored, String sha, String target, String dataKey,
            String manifest, String compressionName, String fingerprint, String tools, int changed, int vanished) {
        return new SnapshotRow(id, sourceName, sourceType, SnapshotStatus.COMPLETED, origin, requestedBy, startedAt,
                finished, raw, stored, sha, target, dataKey, manifest, compressionName, fingerprint, verifiedAt, null,
                tools, changed, vanished);
    }

    /** A new RUNNING row. */
    public static SnapshotRow running(String id, String sourceName, String sourceType, SnapshotOrigin origin,
            String requestedBy, Instant startedAt) {
        return new SnapshotRow(id, sourceName, sourceType, SnapshotStatus.RUNNING, origin, requestedBy, startedAt,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }
}
