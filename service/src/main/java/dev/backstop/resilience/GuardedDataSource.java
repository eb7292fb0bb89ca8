package dev.backstop.resilience;

import io.dropwizard.db.ManagedDataSource;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;

/**
 * The catalog pool with its connection acquisition behind a {@link Guard}: a database that is
 * restarting is waited for briefly (retries with backoff), and one that stays down trips the
 * breaker so callers fail fast with a clear reason instead of queueing. Only getting a connection
 * is retried, never a statement, so nothing is written twice.
 */
public final class GuardedDataSource implements ManagedDataSource {
    private final ManagedDataSource pool;
    private final Guard guard;

    public GuardedDataSource(ManagedDataSource pool, Guard guard) {
        this.pool = pool;
        this.guard = guard;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return guard.connect("catalog connection", pool::getConnection);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return guard.connect("catalog connection", () -> pool.getConnection(username, password));
    }

    @Override
    public void start() throws Exception {
        pool.start();
    }

    @Override
    public void stop() throws Exception {
        pool.stop();
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return pool.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        pool.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        pool.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return pool.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return pool.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        return iface.isInstance(this) ? iface.cast(this) : pool.unwrap(iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        return iface.isInstance(this) || pool.isWrapperFor(iface);
    }
}
