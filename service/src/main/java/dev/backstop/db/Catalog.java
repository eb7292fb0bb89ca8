package dev.backstop.db;

import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import liquibase.Contexts;
import liquibase.Scope;
import liquibase.UpdateSummaryOutputEnum;
import liquibase.ui.LoggerUIService;
import liquibase.LabelExpression;
import liquibase.Liquibase;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import liquibase.exception.LiquibaseException;
import liquibase.resource.ClassLoaderResourceAccessor;
import org.jdbi.v3.core.Jdbi;

/** The catalog database: its dialect, its migrations, and the DAOs over it. */
public record Catalog(Jdbi jdbi, ManagedDataSource dataSource, String type) {

    /** The changelog applied at startup and by {@code db migrate}. */
    public static final String CHANGELOG = "migrations.xml";

    public SnapshotDao snapshots() {
        return jdbi.onDemand(SnapshotDao.class);
    }

    public RestoreDao restores() {
        return jdbi.onDemand(RestoreDao.class);
    }

    public AuditDao audit() {
        return jdbi.onDemand(AuditDao.class);
    }

    /** {@code h2} or {@code postgresql}, read from the configured JDBC URL. */
    public static String typeOf(DataSourceFactory factory) {
        String url = factory.getUrl() == null ? "" : factory.getUrl();
        if (url.startsWith("jdbc:h2:")) {
            return "h2";
        }
        if (url.startsWith("jdbc:postgresql:")) {
            return "postgresql";
        }
        throw new IllegalArgumentException("catalog.url must start with jdbc:h2: or jdbc:postgresql:");
    }

    /** Brings the schema up to date; a no-op when it already is. Returns the number of changesets applied. */
    public static int migrate(javax.sql.DataSource dataSource) throws Exception {
        // Liquibase reports to stdout by default; route its summary through our logs instead.
        return Scope.child(Map.of(Scope.Attr.ui.name(), new LoggerUIService()), () -> update(dataSource));
    }

    private static int update(javax.sql.DataSource dataSource) throws SQLException, LiquibaseException {
        try (Connection connection = dataSource.getConnection()) {
            try {
                return update(connection);
            } finally {
                // Liquibase turns auto-commit off; a pooled connection handed back like that would
                // swallow the next writer's statements in a transaction nobody commits.
                if (!connection.isClosed() && !connection.getAutoCommit()) {
                    connection.rollback();
                    connection.setAutoCommit(true);
                }
            }
        }
    }

    /** Changesets not yet applied, without applying them. */
    public static int pendingMigrations(javax.sql.DataSource dataSource) throws Exception {
        return Scope.child(Map.of(Scope.Attr.ui.name(), new LoggerUIService()), () -> {
            try (Connection connection = dataSource.getConnection()) {
                Database database = DatabaseFactory.getInstance().findCorrectDatabaseImplementation(new JdbcConnection(connection));
                try (ClassLoaderResourceAccessor resources = new ClassLoaderResourceAccessor(Catalog.class.getClassLoader())) {
                    @SuppressWarnings("deprecation")
                    Liquibase liquibase = new Liquibase(CHANGELOG, resources, database);
                    return liquibase.listUnrunChangeSets(new Contexts(), new LabelExpression()).size();
                }
            }
        });
    }

    private static int update(Connection connection) throws LiquibaseException {
        Database database = DatabaseFactory.getInstance()
                .findCorrectDatabaseImplementation(new JdbcConnection(connection));
        try (ClassLoaderResourceAccessor resources = new ClassLoaderResourceAccessor(Catalog.class.getClassLoader())) {
            @SuppressWarnings("deprecation")
            Liquibase liquibase = new Liquibase(CHANGELOG, resources, database);
            liquibase.setShowSummaryOutput(UpdateSummaryOutputEnum.LOG);
            @SuppressWarnings("deprecation")
            int pending = liquibase.listUnrunChangeSets(new Contexts(), new LabelExpression()).size();
            if (pending > 0) {
                liquibase.update(new Contexts(), new LabelExpression());
            }
            return pending;
        } catch (Exception e) {
            if (e instanceof LiquibaseException le) {
                throw le;
            }
            throw new LiquibaseException(e);
        }
    }
}
