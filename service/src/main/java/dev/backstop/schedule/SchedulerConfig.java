package dev.backstop.schedule;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.net.InetAddress;
import java.time.ZoneId;

/**
 * {@code scheduler:} Quartz, with its job store in the catalog database.
 *
 * @param enabled               run scheduled jobs on this node (default true)
 * @param clustered             share schedules with other nodes on the same PostgreSQL catalog
 * @param name                  the schedule set's name in the job store: nodes of one cluster share it
 * @param instanceId            this node's name in the cluster and in catalog rows (default: the host name);
 *                              two nodes on one host need different ones
 * @param threadCount           jobs running at once on this node
 * @param misfireThreshold      how late a fire may be before it counts as missed (its misfire policy applies)
 * @param clusterCheckinInterval how often a clustered node checks in; a node silent for about twice this is
 *                              considered dead and its recoverable jobs rerun elsewhere
 * @param shutdownGracePeriod   on shutdown, running jobs get this long to finish before they are aborted
 * @param stuckThreshold        health fails when a trigger stays BLOCKED or ERROR for longer than this
 * @param timeZone              zone of cron expressions and of retention's calendar buckets (default UTC)
 */
public record SchedulerConfig(
        boolean enabled,
        boolean clustered,
        @NotNull @jakarta.validation.constraints.Pattern(regexp = "[A-Za-z0-9_.-]{1,100}") String name,
        @NotNull String instanceId,
        @Min(1) @Max(64) int threadCount,
        @NotNull Duration misfireThreshold,
        @NotNull Duration clusterCheckinInterval,
        @NotNull Duration shutdownGracePeriod,
        @NotNull Duration stuckThreshold,
        @NotNull ZoneId timeZone) {

    @JsonCreator
    public SchedulerConfig(@JsonProperty("enabled") Boolean enabled, @JsonProperty("clustered") Boolean clustered,
            @JsonProperty("name") String name, @JsonProperty("instanceId") String instanceId, @JsonProperty("threadCount") Integer threadCount,
            @JsonProperty("misfireThreshold") Duration misfireThreshold,
            @JsonProperty("clusterCheckinInterval") Duration clusterCheckinInterval,
            @JsonProperty("shutdownGracePeriod") Duration shutdownGracePeriod,
            @JsonProperty("stuckThreshold") Duration stuckThreshold, @JsonProperty("timeZone") ZoneId timeZone) {
        this(enabled == null || enabled, clustered != null && clustered, name == null ? "backstop" : name,
                instanceId == null || instanceId.isBlank() ? hostName() : instanceId,
                threadCount == null ? 4 : threadCount,
                misfireThreshold == null ? Duration.seconds(60) : misfireThreshold,
                clusterCheckinInterval == null ? Duration.seconds(10) : clusterCheckinInterval,
                shutdownGracePeriod == null ? Duration.seconds(30) : shutdownGracePeriod,
                stuckThreshold == null ? Duration.minutes(10) : stuckThreshold,
                timeZone == null ? ZoneId.of("UTC") : timeZone);
    }

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(null, null, null, null, null, null, null, null, null, null);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "backstop";
        }
    }
}
