package dev.backstop.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.backstop.db.RestoreRow;
import java.time.Instant;

/**
 * A restore as the API shows it. {@code phase}: QUEUED, DOWNLOADING, VERIFYING, APPLYING, RECOVERING
 * (a point-in-time restore's server replays the WAL), COMPLETED, FAILED, CANCELLED.
 * {@code bytesDone}/{@code bytesTotal} are of the current phase (stored bytes while downloading, raw
 * bytes while applying, WAL replayed of WAL planned while recovering); {@code etaSeconds} is the rest of that phase at the rate
 * so far (absent until there is a rate). {@code recoveredTo}: the point a point-in-time restore
 * reached, its last replayed transaction as the restored server reports it (absent otherwise).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RestoreView(String id, String snapshotId, String phase, String mode, boolean dryRun,
        com.fasterxml.jackson.databind.JsonNode target,
        String requestedBy, long bytesDone, Long bytesTotal, Instant createdAt, Instant startedAt, Instant finishedAt,
        Instant phaseStartedAt, Long etaSeconds, Instant recoveredTo, String detail, String error) {

    public static RestoreView of(RestoreRow row) {
        return new RestoreView(row.id(), row.snapshotId(), row.phase().name(), row.mode().name().toLowerCase(java.util.Locale.ROOT),
                row.dryRun(), target(row.target()), row.requestedBy(), row.bytesDone(), row.bytesTotal(), row.createdAt(), row.startedAt(),
                row.finishedAt(), row.phaseStartedAt(), eta(row, Instant.now()), row.recoveredTo(), row.detail(), row.error());
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** The target as it was sent (an object with its JSON types), not the text the catalog keeps it as. */
    static com.fasterxml.jackson.databind.JsonNode target(String stored) {
        if (stored == null) {
            return null;
        }
        try {
            return JSON.readTree(stored);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return com.fasterxml.jackson.databind.node.TextNode.valueOf(stored);
        }
    }

    public static Long eta(RestoreRow row, Instant now) {
        if (row.phase().isFinal() || row.phaseStartedAt() == null || row.bytesTotal() == null || row.bytesDone() <= 0) {
            return null;
        }
        double seconds = java.time.Duration.between(row.phaseStartedAt(), now).toMillis() / 1000.0;
        if (seconds <= 0) {
            return null;
        }
        double rate = row.bytesDone() / seconds;
        return Math.max(0, Math.round((row.bytesTotal() - row.bytesDone()) / rate));
    }
}
