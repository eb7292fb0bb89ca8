package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.resources.ProblemJsonTest;
import dev.backstop.support.ClusterApps;
import dev.backstop.support.Http;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Table-level restores ("undo a mistake without rolling the database back") against a private
 * PostgreSQL 15 cluster with password authentication: chosen tables as they were at a point in time
 * (postgres-cluster, through a scratch copy recovered from the base backup and the WAL) or in a
 * logical snapshot (postgres, through a scratch database), created in a new schema of the live
 * database, which otherwise stays as it was.
 */
class TableUndoTest {
    private static final String PASSWORD = "undo-secret";
    private static final String REPL_PASSWORD = "repl-secret";

    private ClusterApps fixture;
    private TestCluster cluster;
    private DropwizardTestSupport<BackstopConfiguration> app;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.startWithPassword("backstop-undo", PASSWORD, "track_commit_timestamp = on");
        cluster = fixture.cluster;
        cluster.sql("CREATE DATABASE app");
        sql("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)",
                "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), total numeric NOT NULL)",
                "CREATE INDEX orders_customer ON orders (customer_id)",
                "INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, 20) i",
                "INSERT INTO orders (customer_id, total) SELECT 1 + i % 20, i FROM generate_series(1, 500) i");
        // The cluster source's role as the README sets it up: replication, no superuser.
        cluster.sql("CREATE ROLE backstop_repl WITH LOGIN REPLICATION PASSWORD '" + REPL_PASSWORD + "'");
        String physical = "  - {type: postgres-cluster, name: main, port: " + cluster.port() + ", user: backstop_repl, password: \""
                + REPL_PASSWORD + "\", binDirectory: " + TestCluster.BIN + ", partialUploadEvery: 1s}\n";
        String logical = "  - {type: postgres, name: appdb, host: 127.0.0.1, port: " + cluster.port() + ", database: app, user: postgres, "
                + "password: \"" + PASSWORD + "\", pgDump: " + TestCluster.BIN.resolve("pg_dump") + ", format: chunked}\n";
        app = fixture.apps.start("", physical + logical);
        fixture.awaitCovered(Instant.now());
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    private void sql(String... statements) throws Exception {
        try (Connection c = cluster.server().connect("app", "postgres", PASSWORD); Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    private long count(String query) throws Exception {
        try (Connection c = cluster.server().connect("app", "postgres", PASSWORD); Statement s = c.createStatement();
                ResultSet r = s.executeQuery(query)) {
            r.next();
            return r.getLong(1);
        }
    }

    private Http.Reply undo(String body) {
        return Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", body);
    }

    private long scratchLeft() throws Exception {
        try (Stream<java.nio.file.Path> staging = Files.list(fixture.dir.resolve("staging"))) {
            return staging.filter(p -> p.getFileName().toString().contains("restore-")).count()
                    + count("SELECT count(*) FROM pg_database WHERE datname LIKE '%undo%'");
        }
    }

    @Test
    void tablesAsTheyWereAtAPointLandInANewSchemaAndTheLiveTablesStayAsTheyAre() throws Exception {
        ClusterApps.snapshot(app);
        sql("INSERT INTO orders (customer_id, total) SELECT 1, i FROM generate_series(1, 100) i");
        Instant beforeTheMistake = cluster.now();
        sql("DELETE FROM orders WHERE total < 1000"); // the mistake: every order gone
        fixture.awaitCovered(Instant.now());
        assertThat(count("SELECT count(*) FROM orders")).isZero();
        String point = beforeTheMistake.toString();

        // The role may not create schemas in app yet: refused, naming the grant.
        Http.Reply ungranted = undo("""
                {"source": "main", "pointInTime": "%s", "tables": ["public.orders"], "mode": "new",
                 "target": {"database": "app", "schema": "undo_orders"}}""".formatted(point));
        ProblemJsonTest.assertProblem(ungranted, 422, "validation-failed");
        assertThat(ungranted.json().get("detail").asText()).contains("GRANT CREATE ON DATABASE app TO backstop_repl");
        cluster.sql("GRANT CREATE ON DATABASE app TO backstop_repl");

        // A dry run says what it would create, and creates nothing.
        JsonNode dry = ClusterApps.awaitRestore(undo("""
                {"source": "main", "pointInTime": "%s", "tables": ["public.orders"], "mode": "new", "dryRun": true,
                 "target": {"database": "app", "schema": "undo_orders"}}""".formatted(point)));
        assertThat(dry.get("phase").asText()).as(dry.toString()).isEqualTo("COMPLETED");
        assertThat(dry.get("detail").asText()).contains("would recover a scratch copy").contains("create schema undo_orders")
                .contains("public.orders").contains("nothing changed");
        assertThat(count("SELECT count(*) FROM pg_namespace WHERE nspname = 'undo_orders'")).isZero();

        // A name clash is refused before any work.
        sql("CREATE SCHEMA taken");
        Http.Reply clash = undo("""
                {"source": "main", "pointInTime": "%s", "tables": ["public.orders"], "mode": "new",
                 "target": {"database": "app", "schema": "taken"}}""".formatted(point));
        ProblemJsonTest.assertProblem(clash, 409, "conflict");
        assertThat(clash.json().get("detail").asText()).contains("schema taken already exists in database app");
        ProblemJsonTest.assertProblem(undo("""
                {"source": "main", "pointInTime": "%s", "tables": ["public.orders;drop"], "mode": "new",
                 "target": {"database": "app", "schema": "undo_x"}}""".formatted(point)), 422, "validation-failed");

        JsonNode done = ClusterApps.awaitRestore(undo("""
                {"source": "main", "pointInTime": "%s", "tables": ["public.orders"], "mode": "new",
                 "target": {"database": "app", "schema": "undo_orders"}}""".formatted(point)));
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(done.get("detail").asText()).contains("public.orders as undo_orders.orders (600 rows)")
                .contains("orders_customer_id_fkey").contains("the scratch copy was removed");
        assertThat(count("SELECT count(*) FROM undo_orders.orders")).isEqualTo(600);
        assertThat(count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'undo_orders' AND indexname = 'orders_customer'"))
                .as("the table's indexes come along").isEqualTo(1);
        assertThat(count("SELECT count(*) FROM orders")).as("the live table is untouched").isZero();
        assertThat(count("SELECT count(*) FROM customers")).isEqualTo(20);
        assertThat(count("SELECT count(*) FROM pg_class WHERE relnamespace = 'taken'::regnamespace")).as("the clash left it empty")
                .isZero();
        assertThat(scratchLeft()).as("the scratch copy is removed").isZero();

        // A table that did not exist at the point fails the restore, creates nothing and removes the scratch copy.
        JsonNode failed = ClusterApps.awaitRestore(undo("""
                {"source": "main", "pointInTime": "%s", "tables": ["public.orders", "public.invoices"], "mode": "new",
                 "target": {"database": "app", "schema": "undo_again"}}""".formatted(point)));
        assertThat(failed.get("phase").asText()).as(failed.toString()).isEqualTo("FAILED");
        assertThat(failed.get("error").asText()).contains("public.invoices");
        assertThat(count("SELECT count(*) FROM pg_namespace WHERE nspname = 'undo_again'")).isZero();
        assertThat(scratchLeft()).isZero();
    }

    @Test
    void tablesOfALogicalSnapshotComeFromTheDumpWithoutAScratchCluster() throws Exception {
        JsonNode snapshot = snapshotOf("appdb");
        sql("UPDATE customers SET name = 'overwritten'"); // the mistake
        String id = snapshot.get("id").asText();

        JsonNode dry = ClusterApps.awaitRestore(undo("""
                {"snapshotId": "%s", "tables": ["public.*"], "mode": "new", "dryRun": true,
                 "target": {"database": "app", "schema": "before"}}""".formatted(id)));
        assertThat(dry.get("detail").asText()).as(dry.toString()).contains("would create schema before in database app with")
                .contains("public.customers as before.customers").contains("public.orders as before.orders");

        JsonNode done = ClusterApps.awaitRestore(undo("""
                {"snapshotId": "%s", "tables": ["customers"], "mode": "new", "target": {"database": "app", "schema": "before"}}"""
                .formatted(id)));
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(done.get("detail").asText()).contains("public.customers as before.customers (20 rows)");
        assertThat(count("SELECT count(*) FROM before.customers WHERE name LIKE 'customer %'")).isEqualTo(20);
        assertThat(count("SELECT count(*) FROM customers WHERE name = 'overwritten'")).as("live rows untouched").isEqualTo(20);
        assertThat(scratchLeft()).isZero();

        JsonNode failed = ClusterApps.awaitRestore(undo("""
                {"snapshotId": "%s", "tables": ["public.nosuch"], "mode": "new", "target": {"database": "app", "schema": "later"}}"""
                .formatted(id)));
        assertThat(failed.get("phase").asText()).as(failed.toString()).isEqualTo("FAILED");
        assertThat(failed.get("error").asText()).contains("public.nosuch");
        assertThat(count("SELECT count(*) FROM pg_namespace WHERE nspname = 'later'")).isZero();
        assertThat(scratchLeft()).as("the scratch database is dropped after a failure").isZero();
    }

    private JsonNode snapshotOf(String source) {
        String id = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"" + source + "\"}").json().get("id").asText();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(120)).until(() -> !Http.get(
                YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json().get("status").asText().equals("RUNNING"));
        JsonNode row = Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
        assertThat(row.get("status").asText()).as(row.toString()).isEqualTo("COMPLETED");
        return row;
    }
}
