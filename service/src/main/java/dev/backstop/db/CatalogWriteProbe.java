package dev.backstop.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;

/**
 * Proves the catalog takes writes, not only reads: an audit row is inserted (through the table's
 * CHECK constraint, its identity and its indexes, as every run's bookkeeping is) and rolled back,
 * so nothing is kept. A catalog that answers {@code SELECT 1} but refuses writes (a read-only
 * failover target, a revoked grant, an H2 database closed under its sessions) fails readiness.
 */
public final class CatalogWriteProbe {
    private CatalogWriteProbe() {}

    /** Throws what the database said when the probe row cannot be written. */
    public static void check(Connection connection, int timeoutSeconds) throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try (PreparedStatement insert = connection.prepareStatement("""
                INSERT INTO audit_events (occurred_at, actor, action, subject_type, subject_id, outcome, detail)
                VALUES (?, 'backstop', 'health.probe', 'catalog', NULL, 'REQUESTED', NULL)
                """)) {
            insert.setQueryTimeout(timeoutSeconds);
            insert.setObject(1, java.time.OffsetDateTime.ofInstant(Instant.now(), java.time.ZoneOffset.UTC));
            insert.executeUpdate();
        } finally {
            try {
                connection.rollback();
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        }
    }
}
