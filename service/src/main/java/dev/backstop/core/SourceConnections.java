package dev.backstop.core;

import dev.backstop.resilience.Resilience;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.h2.H2SourceFactory;
import dev.backstop.source.postgres.PostgresSourceFactory;
import dev.backstop.source.sqlite.SqliteSourceFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * JDBC connections to source databases (restores, drills, data pruning), each through the
 * {@code database:<source>} guard: a server that is restarting is waited for with backoff, one that
 * stays down opens that database's breaker.
 */
public final class SourceConnections {
    private final Resilience resilience;

    public SourceConnections(Resilience resilience) {
        this.resilience = resilience;
    }

    /** Unguarded connections (CLI tools and tests). */
    public static SourceConnections direct() {
        return new SourceConnections(null);
    }

    /** A connection to {@code database} on a postgres source's server, as the source's user. */
    public Connection postgres(PostgresSourceFactory pg, String database) throws SQLException {
        return guarded(pg.name(), () -> {
            Properties props = new Properties();
            props.setProperty("user", pg.user());
            if (pg.password() != null) {
                props.setProperty("password", pg.password());
            }
            props.setProperty("ApplicationName", RestoreService.APPLICATION_NAME);
            return DriverManager.getConnection("jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + database, props);
        });
    }

    /** A connection to a source's own database (postgres, h2 or sqlite). */
    public Connection of(SourceFactory source) throws SQLException {
        if (source instanceof PostgresSourceFactory pg) {
            return postgres(pg, pg.database());
        }
        if (source instanceof H2SourceFactory h2) {
            return guarded(h2.name(), () -> DriverManager.getConnection(h2.url(), h2.user(), h2.password() == null ? "" : h2.password()));
        }
        if (source instanceof SqliteSourceFactory sqlite) {
            return guarded(sqlite.name(), () -> DriverManager.getConnection("jdbc:sqlite:" + sqlite.path()));
        }
        throw new IllegalArgumentException("source " + source.name() + " (" + source.type() + ") is not a database");
    }

    private Connection guarded(String source, dev.backstop.resilience.Guard.SqlCall<Connection> connect) throws SQLException {
        return resilience == null ? connect.call() : resilience.database(source).connect("connection to " + source, connect);
    }
}
