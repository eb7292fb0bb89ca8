package dev.backstop.source.sqlite;

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
 * @param target storage target name (default: the first)
 * @param path   the database file
 */
@JsonTypeName("sqlite")
public record SqliteSourceFactory(
        @NotNull @Pattern(regexp = SourceNames.PATTERN, message = SourceNames.MESSAGE) String name,
        String target,
        @NotNull Path path) implements SourceFactory {

    @Override
    public String type() {
        return "sqlite";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new SqliteSource(this, environment.stagingDirectory());
    }
}
