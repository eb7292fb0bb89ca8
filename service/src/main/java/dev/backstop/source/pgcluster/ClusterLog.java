package dev.backstop.source.pgcluster;

import dev.backstop.source.ArchivedLog;
import dev.backstop.source.SourceRestorer.PointInTime;
import dev.backstop.source.SourceRestorer.Refused;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A postgres-cluster source's WAL archive as core sees it ({@link ArchivedLog}): its window (from
 * the running archiver's state, else status.json), retention ({@link WalRetention}) and whether a
 * point in time is recoverable. {@code archive} is null in commands without storage.
 */
final class ClusterLog implements ArchivedLog {
    private final ClusterSourceFactory config;
    private final WalArchive archive;

    ClusterLog(ClusterSourceFactory config, WalArchive archive) {
        this.config = config;
        this.archive = archive;
    }

    @Override
    public Optional<LogWindow> window() {
        if (archive == null) {
            return Optional.empty();
        }
        WalArchiver archiver = config.runningArchiver();
        WalArchive.Status status = archiver == null ? null : archiver.status();
        ArchiveState details = archiver == null ? null : archiver.state();
        if (status == null) {
            String error = null;
            try {
                status = archive.status();
            } catch (IOException e) {
                error = "cannot read the archive's status: " + e.getMessage();
            }
            details = details != null && error == null ? details : ArchiveState.notRunning(config.slot(), status, error);
        }
        return Optional.of(new LogWindow(status == null ? null : status.coveredUntil(),
                status == null ? List.of() : status.gaps().stream().map(g -> new LogGap(g.detectedAt(),
                        g.coveredUntil() == null ? g.detectedAt() : g.coveredUntil())).toList(), details,
                status == null ? null : status.retainedFrom()));
    }

    /** See {@link WalRetention#prune}. */
    @Override
    public List<LogRange> prune(List<KeptSnapshot> kept, Instant now, boolean dryRun) throws IOException {
        return archive == null ? List.of() : WalRetention.prune(archive, config, kept, now, dryRun);
    }

    /**
     * Refused (422) when the point is past what the archive holds, retention deleted the WAL the
     * chosen base backup needs, or a gap lies between the base backup and the point (a point up to
     * the gap's {@code coveredUntil} restores: the chain then ends with the gap's partial segment).
     */
    @Override
    public void check(PointInTime pit) {
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
