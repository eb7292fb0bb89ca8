package dev.backstop.core;

import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.RestoreRequest;
import dev.backstop.source.SourceRestorer;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Map;

/**
 * Which snapshot a restore request starts from: the one it names, or for a point in time the
 * newest COMPLETED base backup before the point, with the point checked by the source's archived
 * log. Mistakes are refused here (404/422), before anything is queued.
 */
final class RestoreStart {
    private final Map<String, SourceRestorer> restorers;
    private final SnapshotDao snapshots;

    RestoreStart(Map<String, SourceRestorer> restorers, SnapshotDao snapshots) {
        this.restorers = restorers;
        this.snapshots = snapshots;
    }

    /** The snapshot a request names (a whole restore), or its base backup and point (a point-in-time one). */
    Chosen choose(RestoreRequest request) {
        return request.pointInTime() == null ? new Chosen(snapshot(request), null) : baseFor(request);
    }

    private SnapshotRow snapshot(RestoreRequest request) {
        if (request.snapshotId() == null) {
            throw invalid("snapshotId is required (or source and pointInTime, for a point-in-time restore)");
        }
        if (request.source() != null) {
            throw invalid("source is for a point-in-time restore; with snapshotId alone the snapshot names its source");
        }
        return snapshots.find(BackstopException.requireId(request.snapshotId(), "snapshot"))
                .orElseThrow(() -> BackstopException.notFound("no snapshot " + request.snapshotId()));
    }

    /** The snapshot a restore starts from, and the point it recovers to (null: the snapshot as it was). */
    record Chosen(SnapshotRow snapshot, SourceRestorer.PointInTime pointInTime) {}

    /**
     * A point-in-time restore: the point, and the base backup it starts from (the one given, or the
     * newest COMPLETED snapshot of the source that finished at or before the point), checked by the
     * source's archived log, the one place that decides whether a point restores from a base backup.
     */
    private Chosen baseFor(RestoreRequest request) {
        Instant point = parsePoint(request.pointInTime());
        SnapshotRow base;
        if (request.snapshotId() != null) {
            base = snapshot(new RestoreRequest(request.snapshotId(), request.target(), request.mode(), false, false, false));
            if (request.source() != null && !request.source().equals(base.sourceName())) {
                throw invalid("snapshot " + base.id() + " is of source " + base.sourceName() + ", not " + request.source());
            }
            if (point != null && base.finishedAt() != null && base.finishedAt().isAfter(point)) {
                throw invalid("snapshot " + base.id() + " finished at " + base.finishedAt() + ", after pointInTime " + point
                        + "; a point-in-time restore starts from a base backup that ended before the point");
            }
        } else {
            if (request.source() == null) {
                throw invalid("a point-in-time restore needs source (or snapshotId)");
            }
            SourceRestorer restorer = restorers.get(request.source());
            if (restorer == null) {
                throw BackstopException.notFound("no source " + request.source());
            }
            if (!restorer.archivedLog().isPresent()) {
                throw invalid("source " + request.source() + " has no archived log to replay, so it restores no point in time "
                        + "(restore one of its snapshots with snapshotId)");
            }
            base = snapshots.completed(request.source()).stream()
                    .filter(s -> point == null || (s.finishedAt() != null && !s.finishedAt().isAfter(point))).findFirst()
                    .orElseThrow(() -> invalid("no COMPLETED base backup of " + request.source()
                            + (point == null ? "" : " finished at or before " + point) + "; the point is outside the recoverable window"));
        }
        SourceRestorer.PointInTime pointInTime = new SourceRestorer.PointInTime(point, base.startedAt());
        SourceRestorer restorer = restorers.get(base.sourceName());
        if (restorer != null) {
            restorer.archivedLog().ifPresent(log -> {
                try {
                    log.check(pointInTime);
                } catch (SourceRestorer.Refused refused) {
                    throw refused.isConflict() ? BackstopException.conflict(refused.getMessage()) : invalid(refused.getMessage());
                } catch (UncheckedIOException unreachable) {
                    throw new BackstopException(ProblemType.SERVICE_UNAVAILABLE, unreachable.getCause().getMessage(), unreachable);
                }
            });
        }
        return new Chosen(base, pointInTime);
    }

    /** {@code latest} (null) or an ISO-8601 time with an offset. */
    static Instant parsePoint(String text) {
        if (text.equalsIgnoreCase("latest")) {
            return null;
        }
        try {
            return java.time.OffsetDateTime.parse(text).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            throw invalid("pointInTime '" + text + "' is neither latest nor an ISO-8601 time with an offset "
                    + "(such as 2026-12-02T14:30:00+01:00 or 2026-12-02T13:30:00Z)");
        }
    }

    private static BackstopException invalid(String detail) {
        return new BackstopException(ProblemType.VALIDATION_FAILED, detail);
    }
}
