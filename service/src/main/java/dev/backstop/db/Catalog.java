package dev.backstop.db;

import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.sql.Connection;
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

/**
 * The catalog database: its dialect, its migrations, and the DAOs over it.
 *
 * @param lease this node's right to use a PostgreSQL catalog (null for H2, which locks its file)
 */
public record Catalog(Jdbi jdbi, ManagedDataSource dataSource, String type, CatalogLease lease) {

    /** Stops the pool, then gives up the lease, so the next node can start. */
    public void close() throws Exception {
        try {
            dataSource.stop();
        } finally {
            if (lease != null) {
                lease.close();
            }
        }
    }

    /** The changelog applied at startup and by {@code db migrate}. */
    public static final String CHANGELOG = "migrations.xml";

    public SnapshotDao snapshots() {
        return jdbi.onDemand(SnapshotDao.class);
    }

    public RestoreDao restores() {
        return jdbi.onDemand(RestoreDao.class);
    }

    public RepositoryDao repository() {
        return jdbi.onDemand(RepositoryDao.class);
    }

    public CopyDao copies() {
        return jdbi.onDemand(CopyDao.class);
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
        if (upToDate(dataSource)) {
            return 0; // a restart: Liquibase (a second or two of class loading and locking) has nothing to do
        }
        return withLiquibase(dataSource, liquibase -> {
            int pending = pending(liquibase);
            if (pending > 0) {
                liquibase.update(new Contexts(), new LabelExpression());
            }
            return pending;
        });
    }

    private static final java.util.regex.Pattern CHANGESET = java.util.regex.Pattern.compile(
            "(?m)^--changeset\\s+([^:\\s]+):(\\S+)(?:.*\\bdbms:(\\S+))?");
    private static final java.util.regex.Pattern INCLUDE = java.util.regex.Pattern.compile("<include\\s+file=\"([^\"]+)\"");

    /**
     * Whether every changeset of the changelog for this database is recorded as applied, read from
     * the changelog's files and {@code DATABASECHANGELOG} directly. Any doubt (no such table, a
     * file that cannot be read) answers false, and Liquibase decides.
     */
    static boolean upToDate(javax.sql.DataSource dataSource) {
        try (Connection connection = dataSource.getConnection()) {
            String product = connection.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT);
            String dbms = product.contains("postgres") ? "postgresql" : product.contains("h2") ? "h2" : product;
            java.util.Set<String> expected = new java.util.HashSet<>();
            for (String file : resourceMatches(CHANGELOG, INCLUDE, 1)) {
                java.util.regex.Matcher m = CHANGESET.matcher(resource(file));
                while (m.find()) {
                    if (m.group(3) == null || java.util.Arrays.asList(m.group(3).split(",")).contains(dbms)) {
                        expected.add(m.group(1) + ":" + m.group(2));
                    }
                }
            }
            java.util.Set<String> applied = new java.util.HashSet<>();
            try (java.sql.Statement st = connection.createStatement();
                    java.sql.ResultSet rows = st.executeQuery("SELECT AUTHOR, ID FROM DATABASECHANGELOG")) {
                while (rows.next()) {
                    applied.add(rows.getString(1) + ":" + rows.getString(2));
                }
            }
            return !expected.isEmpty() && applied.containsAll(expected);
        } catch (Exception doubt) {
            return false;
        }
    }

    private static java.util.List<String> resourceMatches(String name, java.util.regex.Pattern pattern, int group)
            throws java.io.IOException {
        java.util.List<String> found = new java.util.ArrayList<>();
        java.util.regex.Matcher m = pattern.matcher(resource(name));
        while (m.find()) {
            found.add(m.group(group));
        }
        return found;
    }

    private static String resource(String name) throws java.io.IOException {
        try (java.io.InputStream in = Catalog.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new java.io.FileNotFoundException(name);
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** Changesets not yet applied, without applying them. */
    public static int pendingMigrations(javax.sql.DataSource dataSource) throws Exception {
        return withLiquibase(dataSource, Catalog::pending);
    }

    @SuppressWarnings("deprecation")
    private static int pending(Liquibase liquibase) throws LiquibaseException {
        return liquibase.listUnrunChangeSets(new Contexts(), new LabelExpression()).size();
    }

    private interface LiquibaseWork {
        int run(Liquibase liquibase) throws LiquibaseException;
    }

    /**
     * Runs Liquibase on one pooled connection, with its output routed to our logs, and hands the
     * connection back as it found it: Liquibase turns auto-commit off, and a pooled connection
     * returned like that would swallow the next writer's statements in a transaction nobody commits.
     */
    private static int withLiquibase(javax.sql.DataSource dataSource, LiquibaseWork work) throws Exception {
        return Scope.child(Map.of(Scope.Attr.ui.name(), new LoggerUIService()), () -> {
            try (Connection connection = dataSource.getConnection()) {
                try {
                    Database database = DatabaseFactory.getInstance()
                            .findCorrectDatabaseImplementation(new JdbcConnection(connection));
                    try (ClassLoaderResourceAccessor resources = new ClassLoaderResourceAccessor(Catalog.class.getClassLoader())) {
                        @SuppressWarnings("deprecation")
                        Liquibase liquibase = new Liquibase(CHANGELOG, resources, database);
                        liquibase.setShowSummaryOutput(UpdateSummaryOutputEnum.LOG);
                        return work.run(liquibase);
                    }
                } finally {
                    if (!connection.isClosed() && !connection.getAutoCommit()) {
                        connection.rollback();
                        connection.setAutoCommit(true);
                    }
                }
            }
        });
    }
}
