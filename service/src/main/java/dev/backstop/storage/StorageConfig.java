package dev.backstop.storage;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code storage:} where snapshots go.
 *
 * @param targets          the targets; a source names one with {@code target:}, or uses the first
 * @param staleUploadAge   interrupted uploads older than this are cleaned up by the sweep
 * @param sweepInterval    how often the sweep runs (it also runs at startup)
 * @param replicationSchedule Quartz cron of the catch-up job of each replica target
 * @param replicationLagWarn  health warns when a replica lacks a snapshot that completed longer ago than this
 */
public record StorageConfig(
        @NotNull @Valid List<StorageTargetFactory> targets,
        @NotNull @MinDuration(value = 1, unit = TimeUnit.MINUTES) Duration staleUploadAge,
        @NotNull @MinDuration(value = 1, unit = TimeUnit.MINUTES) Duration sweepInterval,
        @NotNull @dev.backstop.model.Cron String replicationSchedule,
        @NotNull Duration replicationLagWarn) {

    @JsonCreator
    public StorageConfig(@JsonProperty("targets") List<StorageTargetFactory> targets,
            @JsonProperty("staleUploadAge") Duration staleUploadAge,
            @JsonProperty("sweepInterval") Duration sweepInterval,
            @JsonProperty("replicationSchedule") String replicationSchedule,
            @JsonProperty("replicationLagWarn") Duration replicationLagWarn) {
        this.targets = targets == null ? List.of() : List.copyOf(targets);
        this.staleUploadAge = staleUploadAge == null ? Duration.hours(24) : staleUploadAge;
        this.sweepInterval = sweepInterval == null ? Duration.hours(1) : sweepInterval;
        this.replicationSchedule = replicationSchedule == null ? "0 */5 * * * ?" : replicationSchedule;
        this.replicationLagWarn = replicationLagWarn == null ? Duration.hours(1) : replicationLagWarn;
    }

    public static StorageConfig defaults() {
        return new StorageConfig(null, null, null, null, null);
    }

    @JsonIgnore
    @ValidationMethod(message = "storage.targets[].name must be unique")
    public boolean isTargetNamesUnique() {
        Set<String> seen = new HashSet<>();
        return targets.stream().allMatch(t -> t.name() == null || seen.add(t.name()));
    }
}
