package dev.backstop.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.backstop.model.RetentionPolicy;
import dev.backstop.retention.Retention;
import java.time.Instant;
import java.util.List;

/**
 * What the next retention run of a source would do, and why: every COMPLETED snapshot, newest first,
 * in {@code keep} with the rules that keep it or in {@code delete}; for a source with an archived
 * log (postgres-cluster), {@code deleteLog} lists the log ranges that go with them.
 * {@code freedBytes}: the stored bytes deleting them frees (whole objects, the packs of chunked
 * snapshots that no snapshot kept references, and what repacking then reclaims of packs the kept
 * ones use less than {@code snapshots.repackThreshold} of; those go with the prune after its grace period).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RetentionPreview(String source, RetentionPolicy policy, String timeZone, List<Entry> keep, List<Entry> delete,
        List<dev.backstop.source.ArchivedLog.LogRange> deleteLog, long freedBytes) {

    /** Each entry says why: the rules that keep it, or this. */
    public static final String NO_RULE = "no rule keeps it";

    public record Entry(String id, Instant startedAt, List<String> reasons) {}

    public static RetentionPreview of(String source, RetentionPolicy policy, String zone, List<Retention.Decision> plan,
            List<dev.backstop.source.ArchivedLog.LogRange> deleteLog, java.util.function.ToLongFunction<List<String>> freed) {
        List<String> deleted = plan.stream().filter(d -> !d.keep()).map(Retention.Decision::id).toList();
        return new RetentionPreview(source, policy, zone,
                plan.stream().filter(Retention.Decision::keep).map(d -> new Entry(d.id(), d.time(), d.reasons())).toList(),
                plan.stream().filter(d -> !d.keep()).map(d -> new Entry(d.id(), d.time(), List.of(NO_RULE))).toList(), deleteLog,
                deleted.isEmpty() ? 0 : freed.applyAsLong(deleted));
    }
}
