package dev.backstop.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;

/**
 * What data pruning needs of a source type that has tables: a connection to its database (through
 * its guard), the statement that deletes one batch, and how a cutoff time is bound.
 */
public interface PruningDialect {
    Connection connect() throws SQLException;

    /** DELETE of at most {@code ?2} rows whose {@code column} is before {@code ?1}; identifiers come quoted. */
    String deleteBatch(String table, String column);

    default void bindCutoff(PreparedStatement statement, Instant cutoff) throws SQLException {
        statement.setObject(1, cutoff.atOffset(java.time.ZoneOffset.UTC));
    }
}
