package dev.backstop.db;

import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
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
        Integer filesVanished,
        String node,
        Instant scheduledFor,
        String verifyStatus,
        String verifyDetail) {

    /** This row as COMPLETED with what the pipeline measured. */
    public SnapshotRow completed(Instant finished, long raw, long stored, String sha, String target, String dataKey,
            String manifest, String compressionName, String fingerprint, String tools, int changed, int vanished) {
        return new SnapshotRow(id, sourceName, sourceType, SnapshotStatus.COMPLETED, origin, requestedBy, startedAt,
                finished, raw, stored, sha, target, dataKey, manifest, compressionName, fingerprint, verifiedAt, null,
                tools, changed, vanished, node, scheduledFor, verifyStatus, verifyDetail);
    }

    /** A new RUNNING row. */
    public static SnapshotRow running(String id, String sourceName, String sourceType, SnapshotOrigin origin,
            String requestedBy, Instant startedAt) {
        return running(id, sourceName, sourceType, origin, requestedBy, startedAt, null, null);
    }

    /** A new RUNNING row taken by {@code node}, for a scheduled fire time (null when not scheduled). */
    public static SnapshotRow running(String id, String sourceName, String sourceType, SnapshotOrigin origin,
            String requestedBy, Instant startedAt, String node, Instant scheduledFor) {
        return new SnapshotRow(id, sourceName, sourceType, SnapshotStatus.RUNNING, origin, requestedBy, startedAt,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null, node, scheduledFor,
                null, null);
    }

    /** True when the newest verification drill of this snapshot passed. */
    public boolean verified() {
        return "PASSED".equals(verifyStatus);
    }
}
