package dev.backstop.pruning;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * {@code pruning:} what Backstop may delete to keep going, all off by default.
 *
 * @param onDiskPressure when a watched disk (see {@code disk:}) goes below its critical threshold: clean
 *                       the staging area, apply each source's {@code retention.onDiskPressure} policy and
 *                       run the data pruning policies marked {@code onDiskPressure}
 * @param archival       archival mode: never delete anything on disk pressure, only alert
 * @param checkInterval  how often this node checks its watched disks
 * @param cooldown       after acting on disk pressure, wait at least this long before acting again
 * @param stagingMinAge  staging entries untouched for this long are removed on disk pressure (running
 *                       restores keep writing theirs, so they are left alone)
 * @param policies       data pruning policies (rows older than a duration, by a timestamp column)
 */
public record PruningConfig(
        boolean onDiskPressure,
        boolean archival,
        @NotNull Duration checkInterval,
        @NotNull Duration cooldown,
        @NotNull Duration stagingMinAge,
        @Valid @NotNull List<DataPrunePolicy> policies) {

    @JsonCreator
    public PruningConfig(@JsonProperty("onDiskPressure") Boolean onDiskPressure, @JsonProperty("archival") Boolean archival,
            @JsonProperty("checkInterval") Duration checkInterval, @JsonProperty("cooldown") Duration cooldown,
            @JsonProperty("stagingMinAge") Duration stagingMinAge, @JsonProperty("policies") List<DataPrunePolicy> policies) {
        this(onDiskPressure != null && onDiskPressure, archival != null && archival,
                checkInterval == null ? Duration.seconds(30) : checkInterval, cooldown == null ? Duration.minutes(10) : cooldown,
                stagingMinAge == null ? Duration.minutes(15) : stagingMinAge, policies == null ? List.of() : List.copyOf(policies));
    }

    public static PruningConfig defaults() {
        return new PruningConfig(null, null, null, null, null, null);
    }
}
