package dev.backstop.db;

import io.dropwizard.db.DataSourceFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may use a PostgreSQL catalog: a node alone on it (the default) holds a session-level advisory
 * lock exclusively; clustered nodes hold it shared. So a second non-clustered instance, or a CLI
 * command run beside a server, refuses to start and names the node that has the catalog, instead of
 * failing that node's running snapshots as if it were dead. The lock lives on a connection of its
 * own, outside the pool, and goes with the process: a node that dies frees it at once. If that
 * connection drops (a database restart), it is reopened and the lock taken again.
 * An H2 catalog needs none of this: H2 itself lets one process open the file.
 */
public final class CatalogLease implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogLease.class);
    /** The advisory lock key pair: "BKST" and 1. */
    static final int KEY_CLASS = 0x424b5354;
    static final int KEY_OBJECT = 1;

    private final DataSourceFactory catalog;
    private final String nodeId;
    private final boolean shared;
    private final ScheduledExecutorService keeper;
    private volatile Connection connection;

    private CatalogLease(DataSourceFactory catalog, String nodeId, boolean shared, ScheduledExecutorService keeper) {
        this.catalog = catalog;
        this.nodeId = nodeId;
        this.shared = shared;
        this.keeper = keeper;
    }

    /** Takes the lease, or throws {@link IllegalStateException} naming who holds it. */
    public static CatalogLease acquire(DataSourceFactory catalog, String nodeId, boolean clustered) {
        return acquire(catalog, nodeId, clustered, dev.backstop.resilience.ThreadPools.standalone());
    }

    /** As above, renewing the lease on a thread of {@code threads}. */
    public static CatalogLease acquire(DataSourceFactory catalog, String nodeId, boolean clustered,
            dev.backstop.resilience.ThreadPools threads) {
        CatalogLease lease = new CatalogLease(catalog, nodeId, clustered, threads.scheduled("catalog-lease"));
        try {
            lease.connection = lease.lock();
        } catch (SQLException e) {
            lease.keeper.shutdownNow();
            throw new IllegalStateException("Cannot take the catalog lease at catalog.url (" + catalog.getUrl() + "): "
                    + e.getMessage(), e);
        }
        if (lease.connection == null) {
            List<String> holders = lease.holders();
            lease.keeper.shutdownNow();
            throw new IllegalStateException("Another Backstop node is using the catalog at catalog.url (" + catalog.getUrl()
                    + "): " + (holders.isEmpty() ? "unknown" : String.join("; ", holders)) + ". "
                    + (clustered ? "It runs with scheduler.clustered: false, which needs the catalog to itself"
                            : "A node alone on its catalog needs it to itself: stop the other node (for a CLI command: the "
                                    + "server is running; use the API), or run every node with scheduler.clustered: true"));
        }
        lease.keeper.scheduleWithFixedDelay(lease::keep, 5, 5, TimeUnit.SECONDS);
        return lease;
    }

    /** Opens the lease connection and tries the lock; null when another session holds it. */
    private Connection lock() throws SQLException {
        Connection c = open();
        try (PreparedStatement s = c.prepareStatement(shared ? "SELECT pg_try_advisory_lock_shared(?, ?)"
                : "SELECT pg_try_advisory_lock(?, ?)")) {
            s.setInt(1, KEY_CLASS);
            s.setInt(2, KEY_OBJECT);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                if (r.getBoolean(1)) {
                    return c;
                }
            }
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        c.close();
        return null;
    }

    private Connection open() throws SQLException {
        Properties properties = new Properties();
        if (catalog.getUser() != null) {
            properties.setProperty("user", catalog.getUser());
        }
        if (catalog.getPassword() != null) {
            properties.setProperty("password", catalog.getPassword());
        }
        String name = "backstop node " + nodeId + (shared ? " (clustered)" : "");
        properties.setProperty("ApplicationName", name.length() > 63 ? name.substring(0, 63) : name);
        return DriverManager.getConnection(catalog.getUrl(), properties);
    }

    /** The other sessions holding the lock, as "backstop node X (clustered) from 10.0.0.2 since ...". */
    private List<String> holders() {
        List<String> holders = new ArrayList<>();
        try (Connection c = open(); PreparedStatement s = c.prepareStatement("""
                SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l
                JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.classid = ? AND l.objid = ? AND l.objsubid = 2 AND l.granted
                """)) {
            s.setLong(1, KEY_CLASS);
            s.setLong(2, KEY_OBJECT);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    holders.add(r.getString(1) + " from " + (r.getString(2) == null ? "a local socket" : r.getString(2))
                            + " since " + r.getTimestamp(3).toInstant());
                }
            }
        } catch (SQLException e) {
            LOG.debug("Cannot list the catalog lease holders: {}", e.getMessage());
        }
        return holders;
    }

    /** Keeps the lease through a dropped connection (a database restart): reopen and lock again. */
    private void keep() {
        try {
            Connection c = connection;
            if (c != null && c.isValid(2)) {
                return;
            }
            if (c != null) {
                c.close();
            }
            connection = lock();
            if (connection == null) {
                LOG.error("Lost the catalog lease while its connection was down, and another node holds it now: {}. "
                        + "Two nodes without scheduler.clustered must not share a catalog: stop one", holders());
            } else {
                LOG.info("Catalog lease taken again after its connection was lost");
            }
        } catch (SQLException e) {
            LOG.debug("Catalog lease connection still down: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        keeper.shutdownNow();
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close(); // ends the session, which releases the lock
            } catch (SQLException e) {
                LOG.debug("Cannot close the catalog lease connection: {}", e.getMessage());
            }
        }
    }
}
