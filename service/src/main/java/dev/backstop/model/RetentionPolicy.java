package dev.backstop.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;

/**
 * {@code sources[].retention}: which COMPLETED snapshots to keep. The rules are restic's
 * ({@code restic forget}): each {@code keepX: n} keeps the newest snapshot of each of the last n
 * hours/days/ISO weeks/months/years that have a snapshot; {@code keepLast: n} the n newest;
 * {@code keepWithin} every snapshot within that duration of the newest one. A snapshot any rule keeps
 * is kept. Two floors always hold: the newest snapshot whose verification passed is kept, and at
 * least {@code minKeep} snapshots remain. A policy without any rule keeps everything.
 *
 * @param schedule      Quartz cron for the retention job (default: hourly, at minute 30)
 * @param misfire       what a missed run does (default runOnce)
 * @param onDiskPressure a tighter policy applied when a watched disk goes critical (optional)
 */
public record RetentionPolicy(
        @Min(0) int keepLast,
        @Min(0) int keepHourly,
        @Min(0) int keepDaily,
        @Min(0) int keepWeekly,
        @Min(0) int keepMonthly,
        @Min(0) int keepYearly,
        Duration keepWithin,
        @Min(0) int minKeep,
        @Cron String schedule,
        Misfire misfire,
        @Valid RetentionPolicy onDiskPressure) {

    public static final String DEFAULT_SCHEDULE = "0 30 * * * ?";

    @JsonCreator
    public RetentionPolicy(@JsonProperty("keepLast") Integer keepLast, @JsonProperty("keepHourly") Integer keepHourly,
            @JsonProperty("keepDaily") Integer keepDaily, @JsonProperty("keepWeekly") Integer keepWeekly,
            @JsonProperty("keepMonthly") Integer keepMonthly, @JsonProperty("keepYearly") Integer keepYearly,
            @JsonProperty("keepWithin") Duration keepWithin, @JsonProperty("minKeep") Integer minKeep,
            @JsonProperty("schedule") String schedule, @JsonProperty("misfire") Misfire misfire,
            @JsonProperty("onDiskPressure") RetentionPolicy onDiskPressure) {
        this(orZero(keepLast), orZero(keepHourly), orZero(keepDaily), orZero(keepWeekly), orZero(keepMonthly),
                orZero(keepYearly), keepWithin, minKeep == null ? 1 : minKeep, schedule == null ? DEFAULT_SCHEDULE : schedule,
                Misfire.orDefault(misfire), onDiskPressure);
    }

    /** A policy from its rules alone (tests, previews). */
    public static RetentionPolicy of(int keepLast, int keepHourly, int keepDaily, int keepWeekly, int keepMonthly,
            int keepYearly, java.time.Duration keepWithin, int minKeep) {
        return new RetentionPolicy(keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly,
                keepWithin == null ? null : Duration.milliseconds(keepWithin.toMillis()), minKeep, DEFAULT_SCHEDULE,
                Misfire.RUN_ONCE, null);
    }

    /** Whether any keep rule is set (without one, everything is kept). */
    @JsonIgnore
    public boolean hasRules() {
        return keepLast + keepHourly + keepDaily + keepWeekly + keepMonthly + keepYearly > 0
                || (keepWithin != null && keepWithin.toMilliseconds() > 0);
    }

    private static int orZero(Integer value) {
        return value == null ? 0 : value;
    }
}
