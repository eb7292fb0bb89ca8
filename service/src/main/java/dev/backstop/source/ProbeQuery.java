package dev.backstop.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** A drill's probe: the query must return at least one row. */
public final class ProbeQuery {
    private ProbeQuery() {}

    public static String run(Connection c, String query) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rows = s.executeQuery(query)) {
            if (!rows.next()) {
                throw new IllegalStateException("probe query returned no rows: " + query);
            }
            return "probe query returned " + rows.getString(1);
        }
    }
}
