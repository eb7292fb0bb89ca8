package dev.backstop.health;

import dev.backstop.db.CatalogWriteProbe;
import io.dropwizard.db.ManagedDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.tomcat.jdbc.pool.DataSourceProxy;

/**
 * Readiness: the catalog database answers its validation query and takes a write (rolled back)
 * within the timeout (the pool
 * validates and replaces broken connections, so it recovers on its own once the database is back).
 * Pool saturation is reported alongside: active, idle and waiting connections and the share of the
 * pool in use, warning at 90% or when any thread waits for a connection.
 */
public final class CatalogProbe implements HealthProbe {
    /** At or above this share of the pool in use, health warns. */
    static final double SATURATED_PERCENT = 90.0;

    private final ManagedDataSource dataSource;
    private final String validationQuery;
    private final Duration timeout;
    private final boolean probeWrites;

    /** The service's probe: reads and a rolled-back write. */
    public CatalogProbe(ManagedDataSource dataSource, String validationQuery, Duration timeout) {
        this(dataSource, validationQuery, timeout, true);
    }

    /** @param probeWrites false for {@code check}, which opens the catalog read-only and changes nothing */
    public CatalogProbe(ManagedDataSource dataSource, String validationQuery, Duration timeout, boolean probeWrites) {
        this.dataSource = dataSource;
        this.validationQuery = validationQuery;
        this.timeout = timeout;
        this.probeWrites = probeWrites;
    }

    @Override
    public String name() {
        return "catalog";
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of(HealthEndpoint.READY);
    }

    @Override
    public String componentType() {
        return "datastore";
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        List<HealthObservation> observations = new ArrayList<>();
        long started = System.nanoTime();
        HealthObservation.Builder response = HealthObservation.of("catalog", "responseTime", now).type("datastore");
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
            statement.execute(validationQuery);
            long millis = (System.nanoTime() - started) / 1_000_000;
            observations.add(response.value(millis, "ms").pass());
        } catch (SQLException e) {
            long millis = (System.nanoTime() - started) / 1_000_000;
            observations.add(response.value(millis, "ms")
                    .status(HealthStatus.FAIL, "catalog database unreachable: " + e.getMessage()));
            dropPooledConnections();
        }
        if (probeWrites) {
            observations.add(writable(now));
        }
        if (dataSource instanceof DataSourceProxy pooled && pooled.getPool() != null) {
            var pool = pooled.getPool();
            int max = pooled.getPoolProperties().getMaxActive();
            int active = pool.getActive();
            int waiting = pool.getWaitCount();
            double utilization = max == 0 ? 0 : Math.round(1000.0 * active / max) / 10.0;
            HealthStatus saturation = waiting > 0 || utilization >= SATURATED_PERCENT ? HealthStatus.WARN : HealthStatus.PASS;
            String output = saturation == HealthStatus.PASS ? null
                    : active + " of " + max + " catalog connections in use, " + waiting + " threads waiting for one";
            observations.add(connections(now, "active", active).status(saturation, output));
            observations.add(connections(now, "idle", pool.getIdle()).pass());
            observations.add(connections(now, "waiting", waiting).status(saturation, output));
            observations.add(HealthObservation.of("catalog", "utilization", now).type("datastore").value(utilization, "percent")
                    .status(saturation, output));
        }
        return observations;
    }

    /**
     * A row written and rolled back. When it fails, the pool's connections are dropped so the next
     * ones are opened afresh (an H2 database closed under its sessions is opened again; a
     * PostgreSQL catalog that failed over is reached at its new primary): the service recovers
     * without a restart once the database takes writes again.
     */
    private HealthObservation writable(Instant now) {
        long started = System.nanoTime();
        HealthObservation.Builder writable = HealthObservation.of("catalog", "writable", now).type("datastore");
        try (Connection connection = dataSource.getConnection()) {
            CatalogWriteProbe.check(connection, (int) Math.max(1, timeout.toSeconds()));
            return writable.value((System.nanoTime() - started) / 1_000_000, "ms").pass();
        } catch (SQLException e) {
            dropPooledConnections();
            return writable.value((System.nanoTime() - started) / 1_000_000, "ms")
                    .status(HealthStatus.FAIL, "catalog database does not take writes: " + e.getMessage());
        }
    }

    private void dropPooledConnections() {
        if (dataSource instanceof DataSourceProxy pooled && pooled.getPool() != null) {
            pooled.getPool().purge();
        }
    }

    private static HealthObservation.Builder connections(Instant now, String id, int count) {
        return HealthObservation.of("catalog", "connections", now).id(id).type("datastore").value(count, "connections");
    }
}
