package dev.backstop.source;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * How a source type restores its snapshots: the plug-in half that core's restore service drives.
 * Core streams the stored object once (download, SHA-256 and size, OpenPGP, zstd) and hands the
 * raw stream to a {@link Fresh} target, which writes it into something new beside the live data.
 * Only when the whole object has verified does core call {@link Fresh#commit()}; on any failure it
 * calls {@link Fresh#discard()}, so the live target is never touched by a bad object.
 */
public interface SourceRestorer {

    /**
     * A request's target, checked for its mode when the request arrives.
     *
     * @param key         what identifies the target across restores (two at once into one are refused)
     * @param wouldRefuse conditions that may change before the restore runs (clients connected, a file
     *                    open): they refuse a real run at once and are reported by a dry run
     */
    record Plan(String key, Map<String, String> target, boolean replace, boolean force, boolean dropReplaced,
            List<String> wouldRefuse, PointInTime pointInTime, List<String> tables) {

        public Plan {
            tables = tables == null ? List.of() : List.copyOf(tables);
        }

        /** A plan to restore the snapshot as it was stored. */
        public Plan(String key, Map<String, String> target, boolean replace, boolean force, boolean dropReplaced,
                List<String> wouldRefuse) {
            this(key, target, replace, force, dropReplaced, wouldRefuse, null, List.of());
        }

        /** A plan to restore the whole snapshot, at a point in time when {@code pointInTime} is not null. */
        public Plan(String key, Map<String, String> target, boolean replace, boolean force, boolean dropReplaced,
                List<String> wouldRefuse, PointInTime pointInTime) {
            this(key, target, replace, force, dropReplaced, wouldRefuse, pointInTime, List.of());
        }

        /** Whether this plan restores chosen tables into a new schema rather than the whole snapshot. */
        public boolean tableLevel() {
            return !tables.isEmpty();
        }
    }

    /**
     * A point-in-time restore: after the snapshot (a base backup), replay the archived log up to
     * {@code point} (null: as far as the archive reaches, "latest").
     *
     * @param baseStartedAt when the chosen base backup started
     */
    record PointInTime(java.time.Instant point, java.time.Instant baseStartedAt) {}

    /** A request that cannot be carried out: a conflict with what exists (409) or an invalid target (422). */
    final class Refused extends RuntimeException {
        private final boolean conflict;

        private Refused(String message, boolean conflict) {
            super(message);
            this.conflict = conflict;
        }

        public static Refused conflict(String message) {
            return new Refused(message, true);
        }

        public static Refused invalid(String message) {
            return new Refused(message, false);
        }

        public boolean isConflict() {
            return conflict;
        }
    }

    /** Checks a target for a mode; throws {@link Refused} for a mistake. Touches nothing. */
    Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced);

    /** As {@link #plan(Map, boolean, boolean, boolean)}, for a point in time; only a type with an {@link #archivedLog()} supports it. */
    default Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced, PointInTime pointInTime) {
        if (pointInTime != null) {
            throw Refused.invalid("pointInTime needs a source with an archived log to replay (type postgres-cluster); "
                    + "this source restores whole snapshots: give snapshotId only");
        }
        return plan(target, replace, force, dropReplaced);
    }

    /**
     * Checks a table-level restore ("undo"): {@code tables} ({@code schema.table}, or {@code schema.*}
     * for every table of a schema) as they were in the snapshot, or at {@code pointInTime}, copied
     * into a NEW schema of a live database ({@code target.database}, {@code target.schema}), never
     * touching what exists there. Throws {@link Refused} for a mistake, a name clash included. Touches
     * nothing. A type that cannot restore single tables refuses.
     */
    default Plan planTables(Map<String, String> target, List<String> tables, PointInTime pointInTime) {
        throw Refused.invalid("tables: this source type restores whole snapshots; a table-level restore is for postgres and "
                + "postgres-cluster sources");
    }

    /**
     * The archived log of a type that restores to points in time (postgres-cluster's WAL): its
     * window, what retention deletes of it, and whether a point is recoverable. Empty for a type
     * without one; core asks for it and knows nothing else of the log.
     */
    default java.util.Optional<ArchivedLog> archivedLog() {
        return java.util.Optional.empty();
    }

    /**
     * Creates the fresh target (a new database, file or sibling directory) the stream is written
     * into. {@code progress} is told the raw bytes taken so far and may throw to stop the restore.
     */
    Fresh open(Plan plan, String restoreId, LongConsumer progress) throws Exception;

    /** What a dry run adds to its report, read from the verified raw stream (which it must consume). */
    default String dryRun(Plan plan, InputStream raw) throws IOException {
        raw.transferTo(OutputStream.nullOutputStream());
        return "";
    }

    /** A target being filled. Exactly one of commit or discard ends it. */
    interface Fresh {
        /** Reads the raw stream to its end, writing it into the fresh target. */
        void write(InputStream raw) throws Exception;

        /** The whole object verified: make the fresh target live. Returns what was done, for the restore's detail. */
        String commit() throws Exception;

        /** After a point-in-time commit: the point it reached (its last replayed transaction); null otherwise. */
        default java.time.Instant recoveredTo() {
            return null;
        }

        /** Removes whatever was written; the live target stays as it was. Never throws. */
        void discard();

        /**
         * Called before {@link #commit()} by a commit that replays an archived log: it reports the log
         * replayed of the log planned, in bytes, as recovery goes on (the restore's RECOVERING phase).
         */
        default void onRecovery(Recovery recovery) {}
    }

    /** Hears a recovery's progress: {@code done} of {@code total} bytes of log replayed (the first call starts the phase). */
    interface Recovery {
        void replayed(long done, long total);
    }

    /** A drill: where to restore a scratch copy (a {@code mode: new} target) and how to probe it. */
    interface Drill {
        Map<String, String> scratchTarget();

        /** Checks the restored copy; returns a line for the drill's detail, throws when it fails. */
        String probe(String query) throws Exception;

        /** Removes the scratch copy; never throws. */
        void remove();
    }

    /**
     * Removes what restore {@code restoreId} into {@code target} may have left half-written when the
     * process died (its fresh directory, file or database); called at start for interrupted restores.
     */
    void discardLeftovers(Map<String, String> target, String restoreId) throws Exception;

    /** The service is stopping: end child processes so that running restores fail (and clean up) now. */
    default void stop() {}

    /** A drill of this source type, named {@code scratchName} (unique per snapshot). */
    Drill drill(String scratchName, java.nio.file.Path staging);
}
