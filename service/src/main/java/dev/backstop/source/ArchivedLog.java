package dev.backstop.source;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The archived log of a source that restores to points in time (postgres-cluster: its WAL), as a
 * plug-in offers it through {@link SourceRestorer#archivedLog()}: how far it reaches, what retention
 * deletes of it, and the one check of whether a point restores from a chosen snapshot. Core asks
 * these questions and knows nothing else of the log.
 */
public interface ArchivedLog {

    /**
     * How far the log reaches.
     *
     * @param until   every point up to this instant is archived (null: nothing yet)
     * @param gaps    stretches of the log found lost; no point after a gap's {@code servesUntil} is
     *                recoverable from a snapshot taken before it
     * @param details the archiver's state as the API shows it (the plug-in's own record: receiver, positions, lag, slot)
     * @param logFrom retention deleted the log before the snapshot that started at this instant: snapshots
     *                started earlier restore only as they were (null: nothing deleted)
     */
    record LogWindow(Instant until, List<LogGap> gaps, LogDetails details, Instant logFrom) {}

    /**
     * The archiver's state, a record of the plug-in's own shape (serialized as it is under the
     * window's {@code archive}); core reads only these two of it, for the status page.
     */
    interface LogDetails {
        /** streaming, standby or down; null when this process runs no archiver. */
        String receiver();

        /** Log written by the source and not yet stored, in bytes; -1 when unknown. */
        long lagBytes();
    }

    /**
     * A stretch of the log that was lost: found at {@code detectedAt}; snapshots taken before it
     * still restore every point up to {@code servesUntil} (as far as the log reached before the loss).
     */
    record LogGap(Instant detectedAt, Instant servesUntil) {}

    /** A COMPLETED snapshot that retention keeps, as log retention sees it. */
    record KeptSnapshot(String id, Instant startedAt, Instant finishedAt) {}

    /** Archived log that a retention run deletes (or would): objects {@code from}..{@code to}, and why. */
    record LogRange(String from, String to, int objects, String reason) {}

    /** The log's reach; empty where it cannot be read (no storage open). */
    Optional<LogWindow> window();

    /**
     * Deletes the archived log no kept snapshot needs for the source's window, or with
     * {@code dryRun} only says what it would delete. Empty when nothing goes.
     */
    List<LogRange> prune(List<KeptSnapshot> kept, Instant now, boolean dryRun) throws IOException;

    /**
     * Whether {@code pointInTime} restores from its base snapshot: throws {@link SourceRestorer.Refused}
     * naming why not (the point is past the log's reach, retention deleted the log the snapshot
     * needs, a gap lies between them). The one place this is decided; the restore's execution
     * follows it.
     */
    void check(SourceRestorer.PointInTime pointInTime);
}
