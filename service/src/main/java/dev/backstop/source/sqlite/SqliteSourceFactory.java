package dev.backstop.source.sqlite;

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
import java.nio.file.Path;

/**
 * {@code type: sqlite}: a consistent online copy of a SQLite database file ({@code VACUUM INTO}),
 * taken while writers keep writing.
 *
 * @param name   unique source name
 * @param replicas further storage targets that get a copy of every snapshot (caught up when they were down)
 * @param target storage target name (default: the first)
 * @param path   the database file
 * @param schedule  Quartz cron for scheduled snapshots (none: snapshots only on request)
 * @param misfire   what a missed snapshot does: runOnce (default) or skip
 * @param retention which snapshots to keep (none: all are kept)
 * @param verify    the verification drill (none: no drill)
 */
@JsonTypeName("sqlite")
public record SqliteSourceFactory(
        @NotNull @Pattern(regexp = SourceNames.PATTERN, message = SourceNames.MESSAGE) String name,
        String target,
        java.util.List<String> replicas,
        @NotNull Path path,
        @Cron String schedule,
        Misfire misfire,
        @Valid RetentionPolicy retention,
        @Valid VerifyConfig verify) implements SourceFactory {

    @Override
    public String type() {
        return "sqlite";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new SqliteSource(this, environment.stagingDirectory());
    }

    @Override
    public dev.backstop.source.SourceRestorer restorer(dev.backstop.source.SourceEnvironment environment) {
        return new SqliteRestorer(name(), environment);
    }

    @Override
    public java.util.Optional<dev.backstop.source.PruningDialect> pruning(dev.backstop.source.SourceEnvironment environment) {
        return java.util.Optional.of(new dev.backstop.source.PruningDialect() {
            @Override
            public java.sql.Connection connect() throws java.sql.SQLException {
                return environment.connections().open(name(), () -> java.sql.DriverManager.getConnection("jdbc:sqlite:" + path()));
            }

            @Override
            public String deleteBatch(String table, String column) {
                return "DELETE FROM " + table + " WHERE rowid IN (SELECT rowid FROM " + table + " WHERE " + column + " < ? LIMIT ?)";
            }

            /** SQLite keeps timestamps as text or numbers; the JDBC driver's Timestamp form is what its writers use. */
            @Override
            public void bindCutoff(java.sql.PreparedStatement statement, java.time.Instant cutoff) throws java.sql.SQLException {
                statement.setTimestamp(1, java.sql.Timestamp.from(cutoff));
            }
        });
    }
}
