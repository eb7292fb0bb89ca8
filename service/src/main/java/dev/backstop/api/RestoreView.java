package dev.backstop.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.backstop.db.RestoreRow;
import java.time.Instant;

/** A restore as the API shows it. {@code phase}: QUEUED, DOWNLOADING, VERIFYING, APPLYING, COMPLETED, FAILED. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RestoreView(String id, String snapshotId, String phase, String mode, boolean dryRun, String target,
        String requestedBy, long bytesDone, Long bytesTotal, Instant createdAt, Instant startedAt, Instant finishedAt,
        String detail, String error) {

    public static RestoreView of(RestoreRow row) {
        return new RestoreView(row.id(), row.snapshotId(), row.phase().name(), row.mode().name().toLowerCase(java.util.Locale.ROOT),
                row.dryRun(), row.target(), row.requestedBy(), row.bytesDone(), row.bytesTotal(), row.createdAt(), row.startedAt(),
                row.finishedAt(), row.detail(), row.error());
    }
}
