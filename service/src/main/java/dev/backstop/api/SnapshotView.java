package dev.backstop.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.backstop.db.SnapshotRow;
import java.time.Instant;

/**
 * A snapshot as the API shows it. Sizes, checksum and keys appear once it has completed.
 * {@code storedBytes} is what its data take in storage (a chunked snapshot: every chunk it names,
 * what a restore reads), {@code addedBytes} what it added (its chunks the repository did not hold),
 * {@code storageFormat} {@code object} or {@code chunked-1}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SnapshotView(
        String id,
        String source,
        String sourceType,
        String status,
        String origin,
        String requestedBy,
        Instant startedAt,
        Instant finishedAt,
        Double durationSeconds,
        Long rawBytes,
        Long storedBytes,
        Long addedBytes,
        String storageFormat,
        String sha256,
        String compression,
        String encryptionFingerprint,
        String storageTarget,
        String dataKey,
        String manifestKey,
        Integer filesChanged,
        Integer filesVanished,
        Instant verifiedAt,
        String verifyStatus,
        String verifyDetail,
        String node,
        Instant scheduledFor,
        Boolean queued,
        String error) {

    public static SnapshotView of(SnapshotRow row) {
        return of(row, false);
    }

    /**
     * @param queued the snapshot is RUNNING in the catalog (its source is taken) but waits for a free
     *               slot ({@code snapshots.maxConcurrent}) on this node: shown as {@code "queued": true}
     */
    public static SnapshotView of(SnapshotRow row, boolean queued) {
        Double duration = row.finishedAt() == null ? null
                : java.time.Duration.between(row.startedAt(), row.finishedAt()).toMillis() / 1000.0;
        return new SnapshotView(row.id(), row.sourceName(), row.sourceType(), row.status().name(), row.origin().name(),
                row.requestedBy(), row.startedAt(), row.finishedAt(), duration, row.rawBytes(), row.storedBytes(),
                row.addedBytes(), row.storageKey() == null ? null
                        : row.storageFormat() == null ? SnapshotRow.OBJECT : row.storageFormat(), row.sha256(),
                row.compression(), row.encryptionFingerprint(), row.storageTarget(), row.storageKey(), row.manifestKey(),
                row.filesChanged(), row.filesVanished(), row.verifiedAt(), row.verifyStatus(), row.verifyDetail(), row.node(),
                row.scheduledFor(), queued ? Boolean.TRUE : null, row.error());
    }
}
