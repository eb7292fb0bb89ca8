package dev.backstop.source;

import dev.backstop.resilience.Guard;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * What sources may use from the running service.
 *
 * @param stagingDirectory scratch space for sources that must copy before streaming (SQLite), and drills
 * @param connections      how a source's database connections are opened: through its resilience guard
 */
public record SourceEnvironment(Path stagingDirectory, Connections connections) {

    /** Opens a connection to a source's database, through that source's guard (or directly). */
    @FunctionalInterface
    public interface Connections {
        Connection open(String source, Guard.SqlCall<Connection> connect) throws SQLException;

        Connections DIRECT = (source, connect) -> connect.call();
    }

    /** Unguarded connections (CLI checks and tests). */
    public SourceEnvironment(Path stagingDirectory) {
        this(stagingDirectory, Connections.DIRECT);
    }
}
