package dev.backstop.core;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.MetricName;
import dev.backstop.source.ArchivedLog;
import dev.backstop.source.SourceRestorer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The recoverable window of each source that restores to points in time: from the end of the
 * oldest COMPLETED base backup taken after the last gap in its log, to as far as the archived log
 * reaches; and the newest point a drill has proven restorable ({@code verifiedUntil}: the point a
 * passing point-in-time drill restored a still COMPLETED base backup to). Published as
 * {@code backstop_pitr_recoverable_{from,until}_timestamp_seconds{source}},
 * {@code backstop_pitr_verified_until_timestamp_seconds{source}} and by
 * {@code GET /api/v1/sources/{name}/pitr}.
 */
public final class PointInTimeWindows {

    /**
     * A source's window; {@code from} or {@code until} null when nothing is recoverable yet,
     * {@code verifiedUntil} null until a point-in-time drill passed, {@code lastGap} when WAL was
     * last lost (null when never).
     */
    public record Window(String source, Instant recoverableFrom, Instant recoverableUntil, Instant verifiedUntil,
            Instant lastGap, List<Range> recoverableRanges, ArchivedLog.LogDetails archive) {

        /** A window without gaps: one range (none while nothing is recoverable). */
        public Window(String source, Instant recoverableFrom, Instant recoverableUntil, Instant verifiedUntil, Instant lastGap,
                ArchivedLog.LogDetails archive) {
            this(source, recoverableFrom, recoverableUntil, verifiedUntil, lastGap, recoverableFrom == null || recoverableUntil == null
                    ? List.of() : List.of(new Range(recoverableFrom, recoverableUntil)), archive);
        }

        /**
         * A gap in the archive stays a warning until a drill has proven a point after it: only then is
         * it shown that the base backup taken after the gap, and the WAL since, restore. Empty when
         * there was no gap.
         */
        public java.util.Optional<String> unprovenGap() {
            if (lastGap == null || (verifiedUntil != null && verifiedUntil.isAfter(lastGap))) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of("WAL of " + source + " was lost at " + lastGap + " (see archive.gaps): points before it "
                    + "restore only from base backups taken before it, and no drill has proven a point after it yet"
                    + (verifiedUntil == null ? "" : " (the newest proven point is " + verifiedUntil + ")")
                    + "; run the verify." + source + " job");
        }
    }

    private final Map<String, SourceRestorer> restorers;
    private final SnapshotDao snapshots;

    public PointInTimeWindows(Map<String, SourceRestorer> restorers, SnapshotDao snapshots, MetricRegistry metrics) {
        this.restorers = restorers;
        this.snapshots = snapshots;
        restorers.forEach((source, restorer) -> {
            if (restorer.archivedLog().isPresent()) {
                metrics.gauge(MetricName.of("backstop.pitr.recoverable.from.timestamp.seconds", "source", source),
                        () -> () -> seconds(window(source).map(Window::recoverableFrom).orElse(null)));
                metrics.gauge(MetricName.of("backstop.pitr.recoverable.until.timestamp.seconds", "source", source),
                        () -> () -> seconds(window(source).map(Window::recoverableUntil).orElse(null)));
                metrics.gauge(MetricName.of("backstop.pitr.verified.until.timestamp.seconds", "source", source),
                        () -> () -> seconds(snapshots.newestVerifiedPoint(source).orElse(null)));
            }
        });
    }

    private static double seconds(Instant instant) {
        return instant == null ? 0 : instant.toEpochMilli() / 1000.0;
    }

    /** The window of a source; empty when it does not restore to points in time. */
    public Optional<Window> window(String source) {
        SourceRestorer restorer = restorers.get(source);
        if (restorer == null || !restorer.archivedLog().isPresent()) {
            return Optional.empty();
        }
        return restorer.archivedLog().flatMap(dev.backstop.source.ArchivedLog::window).map(log -> {
            List<SnapshotRow> completed = snapshots.completed(source);
            Instant newestGap = log.gaps().stream().map(ArchivedLog.LogGap::detectedAt).max(Instant::compareTo).orElse(null);
            Instant lastGap = newestGap == null ? Instant.EPOCH : newestGap;
            Instant logFrom = log.logFrom() == null ? Instant.EPOCH : log.logFrom();
            // The current window: from the first base backup since the last gap (known even before the log reaches its end).
            Instant from = completed.stream().filter(s -> s.startedAt().isAfter(lastGap) && !s.startedAt().isBefore(logFrom)
                            && s.finishedAt() != null)
                    .map(SnapshotRow::finishedAt).min(Instant::compareTo).orElse(null);
            Instant until = log.until();
            if (from != null && until != null && until.isBefore(from)) {
                until = null;
            }
            return new Window(source, from, from == null ? null : until, snapshots.newestVerifiedPoint(source).orElse(null),
                    newestGap, ranges(log, completed), log.details());
        });
    }

    /** A stretch of time every point of which restores: {@code from} a base backup's end {@code until} the log's reach. */
    public record Range(Instant from, Instant until) {}

    /**
     * Every recoverable range, oldest first: between two gaps (or before the first, or after the
     * last), from the end of the oldest COMPLETED snapshot started in that stretch (and not before
     * what retention kept of the log) to as far as the log reached before the next gap (or reaches
     * now). A stretch without such a snapshot, or whose log ends before it, has no range.
     */
    static List<Range> ranges(ArchivedLog.LogWindow log, List<SnapshotRow> completed) {
        List<ArchivedLog.LogGap> gaps = log.gaps().stream().sorted(java.util.Comparator.comparing(ArchivedLog.LogGap::detectedAt))
                .toList();
        Instant logFrom = log.logFrom() == null ? Instant.EPOCH : log.logFrom();
        List<Range> ranges = new java.util.ArrayList<>();
        for (int i = 0; i <= gaps.size(); i++) {
            Instant after = i == 0 ? Instant.EPOCH : gaps.get(i - 1).detectedAt();
            Instant before = i < gaps.size() ? gaps.get(i).detectedAt() : null;
            Instant until = i < gaps.size() ? gaps.get(i).servesUntil() : log.until();
            Instant from = completed.stream().filter(s -> s.finishedAt() != null && s.startedAt().isAfter(after)
                            && (before == null || !s.startedAt().isAfter(before)) && !s.startedAt().isBefore(logFrom))
                    .map(SnapshotRow::finishedAt).min(Instant::compareTo).orElse(null);
            if (from != null && until != null && !until.isBefore(from)) {
                ranges.add(new Range(from, until));
            }
        }
        return List.copyOf(ranges);
    }
}
