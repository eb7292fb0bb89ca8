package dev.backstop.source.sqlite;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceSettings;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;

/**
 * {@code type: sqlite}: a consistent online copy of a SQLite database file ({@code VACUUM INTO}),
 * taken while writers keep writing. The keys every type shares are in {@link SourceSettings}; this
 * type adds {@code path}, the database file.
 */
@JsonTypeName("sqlite")
public final class SqliteSourceFactory extends SourceSettings {
    @NotNull
    private final Path path;

    @JsonCreator
    public SqliteSourceFactory(@JsonProperty("path") Path path) {
        this.path = path;
    }

    public SqliteSourceFactory(Shared shared, Path path) {
        super(shared);
        this.path = path;
    }

    public Path path() {
        return path;
    }

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
