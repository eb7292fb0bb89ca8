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
        String verifyDetail,
        String storageFormat,
        Long addedBytes) {

    /** {@code storage_format} of a snapshot stored as one object (every snapshot before chunked repositories). */
    public static final String OBJECT = "object";
    /** {@code storage_format} of a snapshot stored as chunks in its target's repository. */
    public static final String CHUNKED = "chunked-1";

    /** Whether its data are chunks in a repository (its storage key names the chunk list). */
    public boolean chunked() {
        return CHUNKED.equals(storageFormat);
    }

    /** This row as COMPLETED with what the pipeline measured. */
    public SnapshotRow completed(Instant finished, long raw, long stored, String sha, String target, String dataKey,
            String manifest, String compressionName, String fingerprint, String tools, int changed, int vanished) {
        return new SnapshotRow(id, sourceName, sourceType, SnapshotStatus.COMPLETED, origin, requestedBy, startedAt,
                finished, raw, stored, sha, target, dataKey, manifest, compressionName, fingerprint, verifiedAt, null,
                tools, changed, vanished, node, scheduledFor, verifyStatus, verifyDetail, OBJECT, stored);
    }

    /** This row stored as chunks: {@code added} of its stored bytes were new to the repository. */
    public SnapshotRow chunked(long added) {
        return new SnapshotRow(id, sourceName, sourceType, status, origin, requestedBy, startedAt, finishedAt, rawBytes,
                storedBytes, sha256, storageTarget, storageKey, manifestKey, compression, encryptionFingerprint, verifiedAt,
                error, toolVersions, filesChanged, filesVanished, node, scheduledFor, verifyStatus, verifyDetail, CHUNKED, added);
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
                null, null, null, null);
    }

    /** True when the newest verification drill of this snapshot passed. */
    public boolean verified() {
        return "PASSED".equals(verifyStatus);
    }
}
