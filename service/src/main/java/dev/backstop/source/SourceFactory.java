package dev.backstop.source;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dropwizard.jackson.Discoverable;

/**
 * A configured snapshot source ({@code sources[]}, chosen by {@code type:}). Implementations are
 * Jackson subtypes registered in {@code META-INF/services/dev.backstop.source.SourceFactory}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public interface SourceFactory extends Discoverable {

    /** Unique name; used in storage keys, metrics and the API. */
    String name();

    /** The {@code type:} this factory was configured with. */
    String type();

    /** The storage target snapshots go to; null means the first configured target. */
    String target();

    /** Further targets that get a copy of every snapshot; null or empty for none. */
    java.util.List<String> replicas();

    /** {@code chunked} or {@code object} when the source overrides {@code snapshots.format}; null otherwise. */
    default String format() {
        return null;
    }

    /** Quartz cron of scheduled snapshots; null when snapshots run only on request. */
    String schedule();

    /** What a missed scheduled snapshot does (null: the default, runOnce). */
    dev.backstop.model.Misfire misfire();

    /** Which snapshots to keep; null keeps them all. */
    dev.backstop.model.RetentionPolicy retention();

    /** The verification drill; null when there is none. */
    dev.backstop.model.VerifyConfig verify();

    SnapshotSource build(SourceEnvironment environment);

    /** Whether this source is the database at {@code jdbcUrl} (so {@code check} knows a source that is Backstop's own catalog). */
    default boolean isDatabaseAt(String jdbcUrl) {
        return false;
    }

    /** Data pruning of this source's tables; empty for a source without tables. */
    default java.util.Optional<PruningDialect> pruning(SourceEnvironment environment) {
        return java.util.Optional.empty();
    }

    /**
     * Work this source does for as long as the server runs (postgres-cluster streams its WAL to
     * storage), started and stopped with it; empty for a source that only takes snapshots.
     */
    default java.util.Optional<io.dropwizard.lifecycle.Managed> daemon(SourceEnvironment environment) {
        return java.util.Optional.empty();
    }

    /** Restores (and drills) of this source's snapshots. */
    SourceRestorer restorer(SourceEnvironment environment);
}
