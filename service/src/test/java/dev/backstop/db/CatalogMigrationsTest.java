package dev.backstop.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.AuditOutcome;
import dev.backstop.model.RestoreMode;
import dev.backstop.model.RestorePhase;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.TimeOrderedId;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestPostgres;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.stream.Stream;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The real migrations on both catalog dialects, and the DAOs over them. */
class CatalogMigrationsTest {
    private final TimeOrderedId ids = new TimeOrderedId(Clock.systemUTC());
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    private TestPostgres postgres;
    private ManagedDataSource dataSource;

    static Stream<String> dialects() {
        return Stream.of("h2", "postgresql");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (dataSource != null) {
            dataSource.stop();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    private Jdbi open(String dialect) throws Exception {
        DataSourceFactory factory = new DataSourceFactory();
        factory.setUser(dialect.equals("h2") ? "backstop" : TestPostgres.USER);
        factory.setPassword("");
        if (dialect.equals("h2")) {
            factory.setDriverClass("org.h2.Driver");
            factory.setUrl("jdbc:h2:" + TestApps.tempDir("catalog").resolve("catalog"));
        } else {
            postgres = TestPostgres.create();
            factory.setDriverClass("org.postgresql.Driver");
            factory.setUrl(postgres.jdbcUrl());
        }
        assertThat(Catalog.typeOf(factory)).isEqualTo(dialect);
        dataSource = factory.build(new MetricRegistry(), "catalog");
        assertThat(Catalog.migrate(dataSource)).as("changesets applied on an empty database").isEqualTo(16);
        assertThat(Catalog.migrate(dataSource)).as("changesets applied on a current database").isZero();
        return Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void snapshotLifecycle(String dialect) throws Exception {
        SnapshotDao dao = open(dialect).onDemand(SnapshotDao.class);
        String first = ids.next();
        String second = ids.next();
        dao.insert(SnapshotRow.running(first, "main-db", "postgres", SnapshotOrigin.SCHEDULE, null, now));
        dao.insert(SnapshotRow.running(second, "files", "directory", SnapshotOrigin.API, "ops", now.plusSeconds(1)));

        SnapshotRow done = new SnapshotRow(first, "main-db", "postgres", SnapshotStatus.COMPLETED, SnapshotOrigin.SCHEDULE,
                null, now, now.plusSeconds(30), 1_000_000_000_000L, 123_456_789L, "a".repeat(64), "local",
                "backups/main-db/data.dump.zst", "backups/main-db/manifest.json", "zstd-3", "ABCDEF", null, null, "{\"pg_dump\":\"15\"}", 0, 0, null, null, null, null, null, null);
        assertThat(dao.complete(done)).isTrue();
        assertThat(dao.complete(done)).as("only a RUNNING row completes").isFalse();
        assertThat(dao.find(first)).contains(done);

        assertThat(dao.fail(second, now.plusSeconds(2), "pg_dump exited with 1")).isTrue();
        SnapshotRow failed = dao.find(second).orElseThrow();
        assertThat(failed.status()).isEqualTo(SnapshotStatus.FAILED);
        assertThat(failed.error()).isEqualTo("pg_dump exited with 1");

        assertThat(dao.list(null, null, null, 10)).extracting(SnapshotRow::id).containsExactly(second, first);
        assertThat(dao.list("main-db", null, null, 10)).extracting(SnapshotRow::id).containsExactly(first);
        assertThat(dao.list(null, SnapshotStatus.FAILED, null, 10)).extracting(SnapshotRow::id).containsExactly(second);
        assertThat(dao.list(null, null, second, 10)).extracting(SnapshotRow::id).containsExactly(first);
        assertThat(dao.list(null, null, null, 1)).extracting(SnapshotRow::id).containsExactly(second);
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void crashRecoveryMarksRunningRowsFailed(String dialect) throws Exception {
        Jdbi jdbi = open(dialect);
        SnapshotDao snapshots = jdbi.onDemand(SnapshotDao.class);
        RestoreDao restores = jdbi.onDemand(RestoreDao.class);
        String snapshot = ids.next();
        snapshots.insert(SnapshotRow.running(snapshot, "files", "directory", SnapshotOrigin.CLI, null, now));
        String restore = ids.next();
        restores.insert(new RestoreRow(restore, snapshot, RestorePhase.QUEUED, RestoreMode.NEW, false,
                "{\"database\":\"copy\"}", "ops", 0, null, now, null, null, null, null));
        assertThat(restores.progress(restore, RestorePhase.DOWNLOADING, 512, 4096L, now)).isTrue();
        assertThat(restores.find(restore).orElseThrow().phaseStartedAt()).as("the phase's start, for its ETA").isNotNull();

        assertThat(snapshots.failRunning(now, "interrupted by restart")).isEqualTo(1);
        assertThat(restores.failUnfinished(now, "interrupted by restart")).isEqualTo(1);
        assertThat(snapshots.find(snapshot).orElseThrow().status()).isEqualTo(SnapshotStatus.FAILED);
        RestoreRow row = restores.find(restore).orElseThrow();
        assertThat(row.phase()).isEqualTo(RestorePhase.FAILED);
        assertThat(row.bytesDone()).isEqualTo(512);
        assertThat(row.error()).isEqualTo("interrupted by restart");
        assertThat(restores.progress(restore, RestorePhase.APPLYING, 4096, 4096L, now)).as("final rows stay final").isFalse();
        assertThat(restores.cancel(restore, now, "cancelled by ops")).as("nor can a final row be cancelled").isFalse();
        assertThat(restores.list(null, 10)).extracting(RestoreRow::id).containsExactly(restore);

        String pointInTime = ids.next();
        restores.insert(new RestoreRow(pointInTime, snapshot, RestorePhase.QUEUED, RestoreMode.NEW, false,
                "{\"dataDirectory\":\"/srv/pg/restored\"}", "ops", 0, null, now, null, null, null, null));
        java.time.Instant reached = java.time.Instant.parse("2026-12-03T08:02:23.208024Z");
        assertThat(restores.complete(pointInTime, now, "restored", reached)).isTrue();
        assertThat(restores.find(pointInTime).orElseThrow().recoveredTo()).as("the point a restore reached, to the microsecond")
                .isEqualTo(reached);
    }

    /** A restart skips Liquibase when every changeset is recorded; one missing row hands the decision back to it. */
    @ParameterizedTest
    @MethodSource("dialects")
    void aCurrentCatalogIsRecognizedWithoutLiquibase(String dialect) throws Exception {
        Jdbi jdbi = open(dialect);
        assertThat(Catalog.upToDate(dataSource)).isTrue();
        jdbi.useHandle(h -> h.execute("DELETE FROM DATABASECHANGELOG WHERE ID = '010-restore-recovered-to'"));
        assertThat(Catalog.upToDate(dataSource)).isFalse();
        jdbi.useHandle(h -> h.execute("ALTER TABLE restores DROP COLUMN recovered_to"));
        assertThat(Catalog.migrate(dataSource)).as("Liquibase applies what is missing").isEqualTo(1);
        assertThat(Catalog.upToDate(dataSource)).isTrue();
    }

    /** Regression: Liquibase left its pooled connection with auto-commit off, so a later insert was never committed. */
    @ParameterizedTest
    @MethodSource("dialects")
    void writesAfterMigrationAreCommitted(String dialect) throws Exception {
        SnapshotDao dao = open(dialect).onDemand(SnapshotDao.class);
        for (int i = 0; i < 20; i++) { // more inserts than pooled connections: every one is used
            String id = ids.next();
            dao.insert(SnapshotRow.running(id, "s" + i, "h2", SnapshotOrigin.API, null, now));
            try (java.sql.Connection other = dataSource.getConnection(); java.sql.Connection fresh = freshConnection(dialect, other)) {
                try (var st = fresh.prepareStatement("SELECT COUNT(*) FROM snapshots WHERE id = ?")) {
                    st.setString(1, id);
                    var rs = st.executeQuery();
                    rs.next();
                    assertThat(rs.getInt(1)).as("insert %d visible to another connection", i).isEqualTo(1);
                }
            }
        }
    }

    private java.sql.Connection freshConnection(String dialect, java.sql.Connection pooled) throws Exception {
        if (dialect.equals("h2")) {
            return java.sql.DriverManager.getConnection(pooled.getMetaData().getURL(), "backstop", "");
        }
        return postgres.connect();
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void auditEventsAppendInOrder(String dialect) throws Exception {
        AuditDao audit = open(dialect).onDemand(AuditDao.class);
        long a = audit.append(new AuditEvent(null, now, "ops", "restore.requested", "restore", "R1", AuditOutcome.REQUESTED, null));
        long b = audit.append(new AuditEvent(null, now.plusSeconds(5), "ops", "restore.finished", "restore", "R1", AuditOutcome.SUCCEEDED, "3 tables"));
        assertThat(b).isGreaterThan(a);
        List<AuditEvent> events = audit.forSubject("restore", "R1");
        assertThat(events).extracting(AuditEvent::action).containsExactly("restore.requested", "restore.finished");
        assertThat(events.get(1).detail()).isEqualTo("3 tables");
        assertThat(events.get(1).occurredAt()).isEqualTo(now.plusSeconds(5));
    }

    /**
     * Regression (H2 2.4.240): a CHECK constraint created by the migrations kept the session that
     * parsed it; once the pool closed that connection, every insert the constraint guards failed
     * ("Check constraint invalid ... The database has been closed"). Every table with a constraint
     * is written after the pool lost every connection it had.
     */
    @ParameterizedTest
    @MethodSource("dialects")
    void everyConstraintHoldsAfterThePoolDroppedTheMigrationConnection(String dialect) throws Exception {
        Jdbi jdbi = open(dialect);
        // Another connection keeps the database open (the service's scheduler and probes do), so
        // H2 does not close and reopen it, which would parse the constraints anew.
        String url;
        try (java.sql.Connection pooled = dataSource.getConnection()) {
            url = pooled.getMetaData().getURL();
        }
        try (java.sql.Connection keepOpen = dialect.equals("h2") ? java.sql.DriverManager.getConnection(url, "backstop", "")
                : postgres.connect()) {
            ((org.apache.tomcat.jdbc.pool.DataSourceProxy) dataSource).purge(); // as the pool's idle eviction does
            writeEveryConstrainedTable(jdbi);
        }
    }

    private void writeEveryConstrainedTable(Jdbi jdbi) {
        SnapshotDao snapshots = jdbi.onDemand(SnapshotDao.class);
        String snapshot = ids.next();
        snapshots.insert(SnapshotRow.running(snapshot, "files", "directory", SnapshotOrigin.API, null, now));
        jdbi.useHandle(h -> h.execute("UPDATE snapshots SET verify_status = 'PASSED' WHERE id = ?", snapshot));
        jdbi.onDemand(RestoreDao.class).insert(new RestoreRow(ids.next(), snapshot, RestorePhase.QUEUED, RestoreMode.NEW, false,
                "{\"database\":\"copy\"}", "ops", 0, null, now, null, null, null, null));
        jdbi.onDemand(CopyDao.class).insertPending(snapshot, "offsite");
        jdbi.onDemand(AuditDao.class).append(new AuditEvent(null, now, "ops", "restore.requested", "restore", "R1",
                AuditOutcome.REQUESTED, null));
        assertThatThrownBy(() -> jdbi.useHandle(h -> h.execute("UPDATE snapshots SET status = 'DONE' WHERE id = ?", snapshot)))
                .as("the constraints still refuse what they refuse")
                .satisfies(e -> assertThat(e.getMessage().toLowerCase()).contains("snapshots_status_check"));
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void schemaRefusesUnknownStatesAndDanglingRestores(String dialect) throws Exception {
        Jdbi jdbi = open(dialect);
        assertThatThrownBy(() -> jdbi.useHandle(h -> h.execute(
                "INSERT INTO snapshots (id, source_name, source_type, status, origin, started_at) VALUES (?, 'a', 'h2', 'DONE', 'API', ?)",
                ids.next(), now)))
                .satisfies(e -> assertThat(e.getMessage().toLowerCase()).contains("snapshots_status_check"));
        RestoreDao restores = jdbi.onDemand(RestoreDao.class);
        assertThatThrownBy(() -> restores.insert(new RestoreRow(ids.next(), "NO-SUCH-SNAPSHOT", RestorePhase.QUEUED,
                RestoreMode.NEW, false, null, "ops", 0, null, now, null, null, null, null)))
                .isInstanceOf(Exception.class);
    }
}
