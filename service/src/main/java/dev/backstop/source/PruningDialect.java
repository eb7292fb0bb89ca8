package dev.backstop.source;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;

/**
 * What data pruning needs of a source type that has tables: a connection to its database (through
 * its guard), the statement that deletes one batch, and how a cutoff time is bound. Core sees only
 * {@link #open}: the SQL stays with the source types.
 */
public interface PruningDialect {

    /** Rows of one table older than a cutoff: counted, then deleted batch by batch, each committed on its own. */
    interface TablePruning extends AutoCloseable {
        long eligible() throws IOException;

        /** Deletes at most {@code limit} eligible rows and answers how many it deleted. */
        int deleteBatch(int limit) throws IOException;

        @Override
        void close() throws IOException;
    }

    /**
     * Opens {@code table} for pruning rows whose {@code column} is before {@code cutoff}. The
     * identifiers are validated in config; quoting keeps their case as written.
     */
    default TablePruning open(String table, String column, Instant cutoff) throws IOException {
        String quotedTable = quote(table);
        String quotedColumn = quote(column);
        Connection connection;
        try {
            connection = connect();
        } catch (SQLException e) {
            throw new IOException(e.getMessage(), e);
        }
        return new TablePruning() {
            private PreparedStatement delete;

            @Override
            public long eligible() throws IOException {
                try (PreparedStatement count = connection.prepareStatement(
                        "SELECT COUNT(*) FROM " + quotedTable + " WHERE " + quotedColumn + " < ?")) {
                    bindCutoff(count, cutoff);
                    try (ResultSet rows = count.executeQuery()) {
                        rows.next();
                        return rows.getLong(1);
                    }
                } catch (SQLException e) {
                    throw new IOException(e.getMessage(), e);
                }
            }

            @Override
            public int deleteBatch(int limit) throws IOException {
                try {
                    if (delete == null) {
                        delete = connection.prepareStatement(PruningDialect.this.deleteBatch(quotedTable, quotedColumn));
                    }
                    bindCutoff(delete, cutoff);
                    delete.setInt(2, limit);
                    return delete.executeUpdate();
                } catch (SQLException e) {
                    throw new IOException(e.getMessage(), e);
                }
            }

            @Override
            public void close() throws IOException {
                try (connection) {
                    if (delete != null) {
                        delete.close();
                    }
                } catch (SQLException e) {
                    throw new IOException(e.getMessage(), e);
                }
            }
        };
    }

    private static String quote(String identifier) {
        StringBuilder quoted = new StringBuilder();
        for (String part : identifier.split("\\.")) {
            if (quoted.length() > 0) {
                quoted.append('.');
            }
            quoted.append('"').append(part).append('"');
        }
        return quoted.toString();
    }

    Connection connect() throws SQLException;

    /** DELETE of at most {@code ?2} rows whose {@code column} is before {@code ?1}; identifiers come quoted. */
    String deleteBatch(String table, String column);

    default void bindCutoff(PreparedStatement statement, Instant cutoff) throws SQLException {
        statement.setObject(1, cutoff.atOffset(java.time.ZoneOffset.UTC));
    }
}
