package dev.backstop.source.h2;

import dev.backstop.model.RetentionPolicy;
import dev.backstop.model.Cron;
import dev.backstop.model.Misfire;
import dev.backstop.model.VerifyConfig;
import jakarta.validation.Valid;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.SourceNames;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/**
 * {@code type: h2}: an online SQL script of an H2 database ({@code SCRIPT}), restorable with
 * {@code RUNSCRIPT} or {@code org.h2.tools.RunScript}.
 *
 * @param name     unique source name
 * @param replicas further storage targets that get a copy of every snapshot (caught up when they were down)
 * @param target   storage target name (default: the first)
 * @param url      JDBC URL, e.g. {@code jdbc:h2:/var/lib/app/db}; in the same process as an open
 *                 embedded database, use exactly the URL that opened it
 * @param user     database user (needs ADMIN for SCRIPT)
 * @param password use {@code ${ENV_VAR}}; may be empty
 * @param schedule  Quartz cron for scheduled snapshots (none: snapshots only on request)
 * @param misfire   what a missed snapshot does: runOnce (default) or skip
 * @param retention which snapshots to keep (none: all are kept)
 * @param verify    the verification drill (none: no drill)
 */
@JsonTypeName("h2")
public record H2SourceFactory(
        @NotNull @Pattern(regexp = SourceNames.PATTERN, message = SourceNames.MESSAGE) String name,
        String target,
        java.util.List<String> replicas,
        @NotNull @Pattern(regexp = "jdbc:h2:.+", message = "must be an H2 JDBC URL (jdbc:h2:...)") String url,
        @NotNull String user,
        String password,
        @Cron String schedule,
        Misfire misfire,
        @Valid RetentionPolicy retention,
        @Valid VerifyConfig verify) implements SourceFactory {

    @Override
    public String type() {
        return "h2";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new H2Source(this);
    }

    @Override
    public String toString() {
        return "H2SourceFactory[name=" + name + ", url=" + url + ", user=" + user + "]";
    }

    @Override
    public dev.backstop.source.SourceRestorer restorer(dev.backstop.source.SourceEnvironment environment) {
        return new H2Restorer(name(), environment);
    }

    @Override
    public boolean isDatabaseAt(String jdbcUrl) {
        return url.equals(jdbcUrl);
    }

    @Override
    public java.util.Optional<dev.backstop.source.PruningDialect> pruning(dev.backstop.source.SourceEnvironment environment) {
        return java.util.Optional.of(new dev.backstop.source.PruningDialect() {
            @Override
            public java.sql.Connection connect() throws java.sql.SQLException {
                return environment.connections().open(name(),
                        () -> java.sql.DriverManager.getConnection(url(), user(), password() == null ? "" : password()));
            }

            @Override
            public String deleteBatch(String table, String column) {
                return "DELETE FROM " + table + " WHERE " + column + " < ? LIMIT ?";
            }
        });
    }
}
