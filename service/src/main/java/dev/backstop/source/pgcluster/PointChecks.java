package dev.backstop.source.pgcluster;

import dev.backstop.source.SourceRestorer.PointInTime;
import dev.backstop.source.SourceRestorer.Refused;
import java.io.IOException;
import java.time.Instant;

/**
 * Whether a point in time is recoverable from the WAL archive of a postgres-cluster source, asked
 * when a request arrives: refused (422) when the point is past what the archive holds, retention
 * deleted the WAL the chosen base backup needs, or a gap lies between the base backup and the point.
 */
final class PointChecks {
    private PointChecks() {}

    /** Throws {@link Refused} naming why {@code pit} cannot be recovered; returns when it can. */
    static void check(WalArchive archive, ClusterSourceFactory config, PointInTime pit) {
        if (archive == null) {
            throw Refused.invalid("the WAL archive of " + config.name() + " is not open in this command");
        }
        WalArchive.Status status;
        try {
            status = archive.status();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (status == null || status.coveredUntil() == null) {
            throw Refused.invalid("no WAL of " + config.name() + " is archived yet, so no point in time can be restored; "
                    + "restore a base backup with snapshotId");
        }
        if (pit.point() != null && pit.point().isAfter(status.coveredUntil())) {
            throw Refused.invalid("pointInTime " + pit.point() + " is outside the recoverable window: the WAL archive of "
                    + config.name() + " reaches " + status.coveredUntil() + " (recoverableUntil)");
        }
        if (status.retainedFrom() != null && pit.baseStartedAt().isBefore(status.retainedFrom())) {
            throw Refused.invalid("pointInTime is outside the recoverable window: retention deleted the WAL before the base backup "
                    + "that started at " + status.retainedFrom() + " (" + status.retainedFromSegment() + ", pitrWindow "
                    + config.pitrWindow() + "); older base backups restore only as they were (snapshotId without pointInTime)");
        }
        for (WalArchive.Gap gap : status.gaps()) {
            Instant lostAfter = gap.coveredUntil() == null ? gap.detectedAt() : gap.coveredUntil();
            if (gap.detectedAt().isAfter(pit.baseStartedAt())
                    && (pit.point() == null || lostAfter.isBefore(pit.point()))) {
                throw Refused.invalid("the WAL chain of " + config.name() + " has a gap (" + gap.from() + ".." + gap.to() + ", "
                        + gap.reason() + ") between the base backup and the point; choose a point after a base backup taken since");
            }
        }
    }
}
