package dev.backstop.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.NotNull;

/**
 * {@code sources[].verify}: the verification drill. On its schedule the newest COMPLETED snapshot is
 * downloaded, its SHA-256 and OpenPGP integrity checked, decompressed in full and restored into a
 * scratch database, file or directory; for database sources {@code probeQuery} must then return at
 * least one row. The scratch copy is removed afterwards; the outcome is recorded on the snapshot.
 *
 * @param schedule   Quartz cron of the drill
 * @param misfire    what a missed drill does (default runOnce)
 * @param probeQuery SQL run against the scratch database (postgres, h2, sqlite); default {@code SELECT 1}
 * @param maxAge     health warns when the newest verified snapshot is older than this (default 8 days)
 * @param database   postgres-cluster: the database of the restored cluster the probe runs in (default postgres)
 */
public record VerifyConfig(@NotNull @Cron String schedule, Misfire misfire, @NotNull String probeQuery, @NotNull Duration maxAge,
        String database) {

    @JsonCreator
    public VerifyConfig(@JsonProperty("schedule") String schedule, @JsonProperty("misfire") Misfire misfire,
            @JsonProperty("probeQuery") String probeQuery, @JsonProperty("maxAge") Duration maxAge,
            @JsonProperty("database") String database) {
        this.schedule = schedule;
        this.misfire = Misfire.orDefault(misfire);
        this.probeQuery = probeQuery == null || probeQuery.isBlank() ? "SELECT 1" : probeQuery;
        this.maxAge = maxAge == null ? Duration.days(8) : maxAge;
        this.database = database == null || database.isBlank() ? null : database;
    }
}
