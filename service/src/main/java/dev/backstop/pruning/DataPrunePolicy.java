package dev.backstop.pruning;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.backstop.model.Cron;
import dev.backstop.model.Misfire;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/**
 * {@code pruning.policies[]}: deletes rows older than {@code olderThan} (by {@code timestampColumn})
 * from one table of a configured database source, in batches, on a schedule and/or on disk pressure.
 * Every run first counts what it would delete; {@code dryRun: true} stops there.
 *
 * @param name            unique name (the job is {@code prune.<name>})
 * @param source          a configured postgres, h2 or sqlite source whose database holds the table
 * @param table           table, optionally schema-qualified (letters, digits, '_')
 * @param timestampColumn column compared with now minus {@code olderThan}
 * @param olderThan       rows older than this go
 * @param batchSize       rows deleted per statement (each batch commits on its own)
 * @param pause           pause between batches, to leave room for the application's own load
 * @param schedule        Quartz cron (optional)
 * @param misfire         what a missed run does (default runOnce)
 * @param onDiskPressure  also run when a watched disk goes critical (needs {@code pruning.onDiskPressure})
 * @param dryRun          only count, never delete
 */
public record DataPrunePolicy(
        @NotNull @Pattern(regexp = "[a-z0-9][a-z0-9_-]{0,63}") String name,
        @NotNull String source,
        @NotNull @Pattern(regexp = IDENTIFIER + "(\\." + IDENTIFIER + ")?", message = "must be a table name (letters, digits, _)")
        String table,
        @NotNull @Pattern(regexp = IDENTIFIER, message = "must be a column name (letters, digits, _)") String timestampColumn,
        @NotNull Duration olderThan,
        @Min(1) @Max(1_000_000) int batchSize,
        @NotNull Duration pause,
        @Cron String schedule,
        Misfire misfire,
        boolean onDiskPressure,
        boolean dryRun) {

    static final String IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]{0,62}";

    @JsonCreator
    public DataPrunePolicy(@JsonProperty("name") String name, @JsonProperty("source") String source,
            @JsonProperty("table") String table, @JsonProperty("timestampColumn") String timestampColumn,
            @JsonProperty("olderThan") Duration olderThan, @JsonProperty("batchSize") Integer batchSize,
            @JsonProperty("pause") Duration pause, @JsonProperty("schedule") String schedule,
            @JsonProperty("misfire") Misfire misfire, @JsonProperty("onDiskPressure") Boolean onDiskPressure,
            @JsonProperty("dryRun") Boolean dryRun) {
        this(name, source, table, timestampColumn, olderThan, batchSize == null ? 1000 : batchSize,
                pause == null ? Duration.milliseconds(100) : pause, schedule, Misfire.orDefault(misfire),
                onDiskPressure != null && onDiskPressure, dryRun != null && dryRun);
    }
}
