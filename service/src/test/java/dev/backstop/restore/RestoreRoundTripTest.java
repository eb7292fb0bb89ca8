package dev.backstop.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.snapshot.SnapshotTestSupport;
import dev.backstop.support.Http;
import dev.backstop.support.TestBackstopApplication;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Snapshot, change the source, restore through the REST API (new and replace), compare with the
 * snapshot-time state; corrupt the stored object in three ways and check each fails with its own
 * reason while the live target stays as it was.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class RestoreRoundTripTest {
    static final SnapshotTestSupport.Fixture FIXTURE;
    static final Path SOURCE_DIR;
    static final Path SQLITE_FILE;
    static final String H2_URL;
    static final TestPostgres WIDE;

    static {
        try {
            FIXTURE = SnapshotTestSupport.fixture();
            SOURCE_DIR = Files.createDirectories(FIXTURE.dir().resolve("data"));
            Files.createDirectories(SOURCE_DIR.resolve("sub"));
            Files.writeString(SOURCE_DIR.resolve("a.txt"), "version 1\n");
            Files.writeString(SOURCE_DIR.resolve("sub/b.txt"), "bee\n");
            Files.createSymbolicLink(SOURCE_DIR.resolve("link"), Path.of("a.txt"));
            SQLITE_FILE = FIXTURE.dir().resolve("app.sqlite");
            try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
                s.execute("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) INSERT INTO notes SELECT x, 'note ' || x FROM n");
            }
            H2_URL = "jdbc:h2:" + FIXTURE.dir().resolve("apph2");
            try (Connection c = java.sql.DriverManager.getConnection(H2_URL, "sa", ""); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50))");
                s.execute("INSERT INTO items SELECT X, 'item ' || X FROM SYSTEM_RANGE(1, 300)");
            }
            // Two tables over PostgresRestorer.LARGE_TABLE (32 MiB): restored with pg_restore -j from a staged file.
            WIDE = TestPostgres.create();
            try (Connection c = WIDE.connect(); Statement s = c.createStatement()) {
                for (String table : List.of("wide_a", "wide_b")) {
                    s.execute("CREATE TABLE " + table + " AS SELECT g AS id, repeat(md5(g::text), 6) AS body "
                            + "FROM generate_series(1, 200000) g");
                    s.execute("CREATE INDEX ON " + table + " (body)");
                }
            }
            try (Connection c = FIXTURE.postgres().connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2), meta jsonb)");
                s.execute("INSERT INTO accounts SELECT g, 'owner ' || g, g * 10.5, jsonb_build_object('g', g) FROM generate_series(1, 3000) g");
            }
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final DropwizardAppExtension<BackstopConfiguration> APP = new DropwizardAppExtension<>(
            TestBackstopApplication.class, SnapshotTestSupport.config(FIXTURE, "restore.yml", """
                    sources:
                      - {type: postgres, name: pg, target: fs, host: %1$s, port: %2$d, database: %3$s, user: %4$s}
                      - {type: directory, name: dir, target: fs, path: %5$s}
                      - {type: sqlite, name: lite, target: s3, path: %6$s}
                      - {type: h2, name: h2, target: s3, url: "%7$s", user: sa, password: ""}
                      - {type: postgres, name: pgwide, target: fs, host: %1$s, port: %2$d, database: %8$s, user: %4$s}
                    """.formatted(TestPostgres.HOST, TestPostgres.PORT, FIXTURE.postgres().database(), TestPostgres.USER, SOURCE_DIR,
                    SQLITE_FILE, H2_URL, WIDE.database())));

    @AfterAll
    static void tearDown() throws Exception {
        WIDE.close();
        FIXTURE.close();
    }

    private String api(String path) {
        return "http://127.0.0.1:" + APP.getLocalPort() + "/api/v1/" + path;
    }

    private JsonNode restore(String token, String body) {
        Http.Reply accepted = Http.send("POST", api("restores"), token, "application/json", body);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = Http.get(location, TestTokens.READER).json();
            String phase = last[0].get("phase").asText();
            return phase.equals("COMPLETED") || phase.equals("FAILED");
        });
        return last[0];
    }

    @Test
    void directoryRestoresAsNewAndAsReplacementToTheSnapshotTimeState() throws Exception {
        TreeMap<String, String> atSnapshot = SnapshotTestSupport.tree(SOURCE_DIR);
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Files.writeString(SOURCE_DIR.resolve("a.txt"), "version 2\n");
        Files.delete(SOURCE_DIR.resolve("sub/b.txt"));
        Files.writeString(SOURCE_DIR.resolve("new.txt"), "added later\n");

        Path copy = FIXTURE.dir().resolve("restored-copy");
        JsonNode asNew = restore(TestTokens.OPERATOR, """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "new"}""".formatted(snapshot.get("id").asText(), copy));
        assertThat(asNew.get("phase").asText()).as(asNew.toString()).isEqualTo("COMPLETED");
        assertThat(SnapshotTestSupport.tree(copy)).isEqualTo(atSnapshot);

        assertThat(Http.send("POST", api("restores"), TestTokens.OPERATOR, "application/json", """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "replace"}""".formatted(snapshot.get("id").asText(), SOURCE_DIR))
                .status()).as("replace needs admin").isEqualTo(403);
        JsonNode replaced = restore(TestTokens.ADMIN, """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "replace"}""".formatted(snapshot.get("id").asText(), SOURCE_DIR));
        assertThat(replaced.get("phase").asText()).as(replaced.toString()).isEqualTo("COMPLETED");
        assertThat(SnapshotTestSupport.tree(SOURCE_DIR)).isEqualTo(atSnapshot);
        try (var siblings = Files.list(SOURCE_DIR.getParent())) {
            assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("."))).as("no leftovers").isEmpty();
        }
    }

    /**
     * A chunked directory snapshot after another stores only what changed, and reads only what may
     * have: a file rewritten in place with its old size and mtime set back is still read (its ctime
     * moved), and every snapshot restores to its own state.
     */
    @Test
    void aSecondDirectorySnapshotStoresWhatChangedAndAFileWithItsMtimeSetBackIsStillRead() throws Exception {
        byte[] big = new byte[3 << 20];
        new java.util.Random(11).nextBytes(big);
        Path blob = SOURCE_DIR.resolve("blob.bin");
        Files.write(blob, big);
        JsonNode first = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        TreeMap<String, String> atFirst = SnapshotTestSupport.tree(SOURCE_DIR);
        JsonNode second = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        assertThat(second.get("storageFormat").asText()).isEqualTo("chunked-1");
        assertThat(second.get("addedBytes").asLong()).as("an unchanged directory adds next to nothing")
                .isLessThan(first.get("storedBytes").asLong() / 20);

        java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(blob);
        big[1 << 20] ^= 0x55; // same size, one byte different, mtime set back: only ctime tells
        Files.write(blob, big);
        Files.setLastModifiedTime(blob, mtime);
        TreeMap<String, String> atThird = SnapshotTestSupport.tree(SOURCE_DIR);
        JsonNode third = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        assertThat(third.get("addedBytes").asLong()).as("the rewritten file's changed chunk is stored").isPositive()
                .isLessThan(big.length);
        Files.delete(blob);

        for (var expected : List.of(java.util.Map.entry(first, atFirst), java.util.Map.entry(third, atThird))) {
            Path copy = FIXTURE.dir().resolve("reuse-" + expected.getKey().get("id").asText());
            JsonNode restored = restore(TestTokens.OPERATOR, """
                    {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "new"}""".formatted(expected.getKey().get("id").asText(), copy));
            assertThat(restored.get("phase").asText()).as(restored.toString()).isEqualTo("COMPLETED");
            assertThat(SnapshotTestSupport.tree(copy)).isEqualTo(expected.getValue());
        }
    }

    /**
     * Many unchanged files between a few changed ones: each unchanged file's chunks are named from
     * the parent in stream order between the tar headers around them (looked up in batches), and
     * the snapshot restores byte for byte.
     */
    @Test
    void aSecondSnapshotOfManyFilesWithAFewChangedRestoresInOrder() throws Exception {
        Path many = SOURCE_DIR.resolve("many");
        java.util.Random random = new java.util.Random(21);
        for (int i = 0; i < 300; i++) {
            Path file = many.resolve("d" + (i % 3)).resolve("f" + i);
            Files.createDirectories(file.getParent());
            byte[] content = new byte[(64 << 10) + random.nextInt(20_000)];
            random.nextBytes(content);
            Files.write(file, content);
        }
        try {
            SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
            for (int i = 7; i < 300; i += 60) {
                byte[] content = new byte[(64 << 10) + random.nextInt(20_000)];
                random.nextBytes(content);
                Files.write(many.resolve("d" + (i % 3)).resolve("f" + i), content);
            }
            TreeMap<String, String> atSecond = SnapshotTestSupport.tree(SOURCE_DIR);
            JsonNode second = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
            assertThat(second.get("addedBytes").asLong()).as("five files' worth, not 300").isLessThan(10L * (84 << 10));
            Path copy = FIXTURE.dir().resolve("many-" + second.get("id").asText());
            JsonNode restored = restore(TestTokens.OPERATOR, """
                    {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "new"}""".formatted(second.get("id").asText(), copy));
            assertThat(restored.get("phase").asText()).as(restored.toString()).isEqualTo("COMPLETED");
            assertThat(SnapshotTestSupport.tree(copy)).isEqualTo(atSecond);
        } finally {
            dev.backstop.source.FileTrees.delete(many);
        }
    }

    @Test
    void postgresWithSeveralLargeTablesRestoresWithParallelJobsFromAStagedFileAndLeavesNoStagedFile() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "pg_restore -j needs 2 cores");
        String before = SnapshotTestSupport.fingerprint(WIDE.connect(), "wide_a") + SnapshotTestSupport.fingerprint(WIDE.connect(), "wide_b");
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "pgwide");
        String database = "wide_" + snapshot.get("id").asText().toLowerCase().substring(16);
        try {
            JsonNode done = restore(TestTokens.OPERATOR, """
                    {"snapshotId": "%s", "target": {"database": "%s"}, "mode": "new"}""".formatted(snapshot.get("id").asText(), database));
            assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
            assertThat(done.get("detail").asText()).contains("with pg_restore -j 2 from a staged file (2 tables of 32 MiB or more");
            String url = "jdbc:postgresql://" + TestPostgres.HOST + ":" + TestPostgres.PORT + "/" + database;
            assertThat(SnapshotTestSupport.fingerprint(java.sql.DriverManager.getConnection(url, TestPostgres.USER, ""), "wide_a")
                    + SnapshotTestSupport.fingerprint(java.sql.DriverManager.getConnection(url, TestPostgres.USER, ""), "wide_b"))
                    .isEqualTo(before);
            try (var staged = Files.list(Files.createDirectories(FIXTURE.dir().resolve("staging")))) {
                assertThat(staged.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pgdump")))
                        .as("the staged dump is removed once restored").isEmpty();
            }
        } finally {
            try (Connection c = FIXTURE.postgres().connect(); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
            }
        }
    }

    @Test
    void aStagedRestoreOfAnObjectWithAFlippedLastByteLeavesNoDatabaseAndNoStagedFile() throws Exception {
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "pgwide");
        try (RandomAccessFile file = new RandomAccessFile(FIXTURE.fsRoot().resolve(snapshot.get("dataKey").asText()).toFile(), "rw")) {
            file.seek(file.length() - 1);
            int b = file.read();
            file.seek(file.length() - 1);
            file.write(b ^ 0x01);
        }
        String database = "wide_bad_" + snapshot.get("id").asText().toLowerCase().substring(16);
        JsonNode done = restore(TestTokens.OPERATOR, """
                {"snapshotId": "%s", "target": {"database": "%s"}, "mode": "new"}""".formatted(snapshot.get("id").asText(), database));
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("FAILED");
        assertThat(done.get("error").asText()).containsAnyOf("checksum mismatch", "integrity");
        try (Connection c = FIXTURE.postgres().connect(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT datname FROM pg_database WHERE datname LIKE 'wide_bad_%'")) {
            assertThat(r.next()).as("neither the target nor its fresh database exists").isFalse();
        }
        try (var staged = Files.list(Files.createDirectories(FIXTURE.dir().resolve("staging")))) {
            assertThat(staged.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pgdump")))
                    .as("the staged dump is removed").isEmpty();
        }
    }

    @Test
    void postgresRestoresIntoANewDatabaseWithTheSnapshotTimeRows() throws Exception {
        String before = SnapshotTestSupport.fingerprint(FIXTURE.postgres().connect(), "accounts");
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "pg");
        try (Connection c = FIXTURE.postgres().connect(); Statement s = c.createStatement()) {
            s.execute("DELETE FROM accounts WHERE id > 1000");
            s.execute("UPDATE accounts SET balance = 0");
        }
        String database = "restored_" + snapshot.get("id").asText().toLowerCase().substring(16);
        try {
            JsonNode done = restore(TestTokens.OPERATOR, """
                    {"snapshotId": "%s", "target": {"database": "%s"}, "mode": "new"}""".formatted(snapshot.get("id").asText(), database));
            assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
            assertThat(done.get("detail").asText()).contains("pg_restore streaming from the verified object");
            try (Connection restored = java.sql.DriverManager.getConnection(
                    "jdbc:postgresql://" + TestPostgres.HOST + ":" + TestPostgres.PORT + "/" + database, TestPostgres.USER, "")) {
                assertThat(SnapshotTestSupport.fingerprint(restored, "accounts")).isEqualTo(before);
            }
        } finally {
            try (Connection c = FIXTURE.postgres().connect(); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
            }
        }
    }

    @Test
    void sqliteRestoresAsANewFileAndReplacesAtomically() throws Exception {
        String query = "SELECT id, body FROM notes ORDER BY id";
        List<List<String>> atSnapshot;
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE)) {
            atSnapshot = SnapshotTestSupport.rows(c, query);
        }
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "lite");
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE); Statement s = c.createStatement()) {
            s.execute("DELETE FROM notes WHERE id > 100");
        }
        Path copy = FIXTURE.dir().resolve("restored.sqlite");
        JsonNode asNew = restore(TestTokens.OPERATOR, "{\"snapshotId\": \"" + snapshot.get("id").asText()
                + "\", \"target\": {\"path\": \"" + copy + "\"}, \"mode\": \"new\"}");
        assertThat(asNew.get("phase").asText()).as(asNew.toString()).isEqualTo("COMPLETED");
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + copy)) {
            assertThat(SnapshotTestSupport.rows(c, query)).isEqualTo(atSnapshot);
        }
        JsonNode replaced = restore(TestTokens.ADMIN, "{\"snapshotId\": \"" + snapshot.get("id").asText()
                + "\", \"target\": {\"path\": \"" + SQLITE_FILE + "\"}, \"mode\": \"replace\"}");
        assertThat(replaced.get("phase").asText()).as(replaced.toString()).isEqualTo("COMPLETED");
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE)) {
            assertThat(SnapshotTestSupport.rows(c, query)).hasSize(500).isEqualTo(atSnapshot);
        }
    }

    @Test
    void h2RestoresIntoANewDatabase() throws Exception {
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "h2");
        String url = "jdbc:h2:" + FIXTURE.dir().resolve("restored-h2");
        JsonNode done = restore(TestTokens.OPERATOR, "{\"snapshotId\": \"" + snapshot.get("id").asText()
                + "\", \"target\": {\"url\": \"" + url + "\"}, \"mode\": \"new\"}");
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        String query = "SELECT id, name FROM items ORDER BY id";
        try (Connection restored = java.sql.DriverManager.getConnection(url + ";IFEXISTS=TRUE", "sa", "");
                Connection original = java.sql.DriverManager.getConnection(H2_URL, "sa", "")) {
            assertThat(SnapshotTestSupport.rows(restored, query)).hasSize(300).isEqualTo(SnapshotTestSupport.rows(original, query));
        }
    }

    @Test
    void h2ReplaceRefusesWhileTheDatabaseIsOpenThenSwapsKeepingTheOld() throws Exception {
        String query = "SELECT id, name FROM items ORDER BY id";
        java.util.List<java.util.List<String>> atSnapshot;
        try (Connection c = java.sql.DriverManager.getConnection(H2_URL, "sa", "")) {
            atSnapshot = SnapshotTestSupport.rows(c, query);
        }
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "h2");
        String body = "{\"snapshotId\": \"" + snapshot.get("id").asText() + "\", \"target\": {\"url\": \"" + H2_URL
                + "\"}, \"mode\": \"replace\"}";
        try (Connection client = java.sql.DriverManager.getConnection(H2_URL, "sa", ""); Statement s = client.createStatement()) {
            s.execute("UPDATE items SET name = 'changed after the snapshot'");
            // The application (here: this JVM) still has it open: refused at once, not a failed restore.
            Http.Reply refused = Http.send("POST", api("restores"), TestTokens.ADMIN, "application/json", body);
            dev.backstop.resources.ProblemJsonTest.assertProblem(refused, 409, "conflict");
            assertThat(refused.json().get("detail").asText()).contains("is open").contains("nothing was");
            assertThat(SnapshotTestSupport.rows(client, query)).as("live database untouched")
                    .allSatisfy(row -> assertThat(row.get(1)).isEqualTo("changed after the snapshot"));
            // Deciding "open" must not drop this JVM's lock: a second process is still locked out.
            assertThat(dev.backstop.support.H2Process.open(H2_URL, "sa")).contains("already in use");
            assertThat(SnapshotTestSupport.rows(client, query)).as("the open connection still works").hasSize(300);
        }
        JsonNode done = restore(TestTokens.ADMIN, body);
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        try (Connection c = java.sql.DriverManager.getConnection(H2_URL + ";IFEXISTS=TRUE", "sa", "")) {
            assertThat(SnapshotTestSupport.rows(c, query)).isEqualTo(atSnapshot);
        }
        Path kept = Path.of(done.get("detail").asText().replaceAll(".*kept as (\\S+) .*", "$1"));
        assertThat(kept).exists();
        try (Connection old = java.sql.DriverManager.getConnection("jdbc:h2:" + kept.toString().replace(".mv.db", "") + ";IFEXISTS=TRUE",
                "sa", "")) {
            assertThat(SnapshotTestSupport.rows(old, query)).allSatisfy(row -> assertThat(row.get(1)).isEqualTo("changed after the snapshot"));
        }
    }

    @Test
    void postgresReplaceRefusesWhileClientsAreConnectedThenSwapsKeepingTheOld() throws Exception {
        String database = FIXTURE.postgres().database();
        String before = SnapshotTestSupport.fingerprint(FIXTURE.postgres().connect(), "accounts");
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "pg");
        try (Connection c = FIXTURE.postgres().connect(); Statement s = c.createStatement()) {
            s.execute("UPDATE accounts SET owner = 'changed after the snapshot'");
        }
        String body = "{\"snapshotId\": \"" + snapshot.get("id").asText() + "\", \"target\": {\"database\": \"" + database
                + "\"}, \"mode\": \"replace\"}";
        String changed;
        try (Connection client = FIXTURE.postgres().connect()) { // an application still connected
            changed = SnapshotTestSupport.fingerprint(FIXTURE.postgres().connect(), "accounts");
            Http.Reply refused = Http.send("POST", api("restores"), TestTokens.ADMIN, "application/json", body);
            dev.backstop.resources.ProblemJsonTest.assertProblem(refused, 409, "conflict");
            assertThat(refused.json().get("detail").asText()).contains("active connections").contains("force");
            JsonNode dryRun = restore(TestTokens.ADMIN, body.replace("}, \"mode\"", "}, \"dryRun\": true, \"mode\""));
            assertThat(dryRun.get("phase").asText()).as(dryRun.toString()).isEqualTo("COMPLETED");
            assertThat(dryRun.get("detail").asText()).contains("the real run would be refused now").contains("active connections");
            assertThat(client.isValid(2)).isTrue();
        }
        assertThat(SnapshotTestSupport.fingerprint(FIXTURE.postgres().connect(), "accounts")).as("live database untouched").isEqualTo(changed);

        JsonNode done = restore(TestTokens.ADMIN, body);
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        String kept = done.get("detail").asText().replaceAll(".*kept as (\\S+).*", "$1");
        try {
            assertThat(SnapshotTestSupport.fingerprint(FIXTURE.postgres().connect(), "accounts")).isEqualTo(before);
            try (Connection old = java.sql.DriverManager.getConnection("jdbc:postgresql://" + TestPostgres.HOST + ":" + TestPostgres.PORT
                    + "/" + kept, TestPostgres.USER, "")) {
                assertThat(SnapshotTestSupport.fingerprint(old, "accounts")).as("the replaced database is kept").isEqualTo(changed);
            }
        } finally {
            try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + TestPostgres.HOST + ":" + TestPostgres.PORT
                    + "/postgres", TestPostgres.USER, ""); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS \"" + kept + "\" WITH (FORCE)");
            }
        }
    }

    @Test
    void dryRunVerifiesAndChangesNothing() throws Exception {
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Path target = FIXTURE.dir().resolve("dry-run-target");
        JsonNode done = restore(TestTokens.OPERATOR, """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "new", "dryRun": true}""".formatted(snapshot.get("id").asText(), target));
        assertThat(done.get("phase").asText()).isEqualTo("COMPLETED");
        assertThat(done.get("detail").asText()).contains("would restore").contains("nothing changed");
        assertThat(target).doesNotExist();
        String scrape = dev.backstop.support.Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/metrics/prometheus", null).body();
        assertThat(scrape).as("a dry run is counted apart from the restores it did not make")
                .containsPattern("backstop_restores_total\\{outcome=\"dry_run\",source=\"dir\"} [1-9]");
    }

    @Test
    void corruptedTruncatedOrMissingObjectsFailWithTheirOwnReasonAndTouchNothing() throws Exception {
        Path live = Files.createDirectories(FIXTURE.dir().resolve("live"));
        Files.writeString(live.resolve("keep.txt"), "live data\n");
        TreeMap<String, String> liveState = SnapshotTestSupport.tree(live);

        JsonNode flipped = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        try (RandomAccessFile file = new RandomAccessFile(FIXTURE.fsRoot().resolve(flipped.get("dataKey").asText()).toFile(), "rw")) {
            file.seek(file.length() / 2);
            int b = file.read();
            file.seek(file.length() / 2);
            file.write(b ^ 0x01);
        }
        assertFailure(flipped, live, "checksum mismatch");

        JsonNode truncated = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Path truncatedFile = FIXTURE.fsRoot().resolve(truncated.get("dataKey").asText());
        try (RandomAccessFile file = new RandomAccessFile(truncatedFile.toFile(), "rw")) {
            file.setLength(file.length() - 100);
        }
        assertFailure(truncated, live, "(truncated)");

        JsonNode deleted = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Files.delete(FIXTURE.fsRoot().resolve(deleted.get("dataKey").asText()));
        assertFailure(deleted, live, "stored object missing");

        // The chunks themselves: a flipped byte inside a pack, and a pack that is gone. Other
        // snapshots share the pack (that is the point of it), so it is mended afterwards.
        JsonNode damaged = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        String pack = Files.readAllLines(FIXTURE.fsRoot().resolve(damaged.get("dataKey").asText())).get(0)
                .replaceAll(".*\"pack\":\"([^\"]+)\".*", "$1");
        Path packFile = FIXTURE.fsRoot().resolve(pack);
        byte[] intact = Files.readAllBytes(packFile);
        try (RandomAccessFile file = new RandomAccessFile(packFile.toFile(), "rw")) {
            file.seek(file.length() / 2);
            int b = file.read();
            file.seek(file.length() / 2);
            file.write(b ^ 0x01);
        }
        assertFailure(damaged, live, pack);
        Files.delete(packFile);
        assertFailure(damaged, live, "is missing from fs");
        Files.write(packFile, intact);

        assertThat(SnapshotTestSupport.tree(live)).isEqualTo(liveState);
        try (var siblings = Files.list(live.getParent())) {
            assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".live.restore-")))
                    .as("the fresh directory each corrupted stream went into is gone").isEmpty();
        }
        JsonNode health = Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/health/detailed", null).json();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Http.get("http://127.0.0.1:" + APP.getAdminPort()
                + "/health/detailed", null).json().get("checks").get("restores:failedLast24h").get(0).get("status").asText()).isEqualTo("warn"));
        assertThat(health.get("checks").has("restores:failedLast24h")).isTrue();
        assertThat(Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/metrics/prometheus", null).body())
                .containsPattern("backstop_restores_total\\{outcome=\"failed\",source=\"dir\"} [5-9]");
        assertThat(FIXTURE.dir().resolve("staging")).as("restores stream: nothing is staged").satisfiesAnyOf(
                p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
    }

    private void assertFailure(JsonNode snapshot, Path live, String reason) {
        JsonNode done = restore(TestTokens.ADMIN, """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "replace"}""".formatted(snapshot.get("id").asText(), live));
        assertThat(done.get("phase").asText()).isEqualTo("FAILED");
        assertThat(done.get("error").asText()).contains(reason);
    }

    @Test
    void aMisspeltFieldIsRefusedAndTheLiveDirectoryStays() throws Exception {
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Path live = Files.createDirectories(FIXTURE.dir().resolve("typo-live"));
        Files.writeString(live.resolve("precious.txt"), "live data\n");
        TreeMap<String, String> before = SnapshotTestSupport.tree(live);
        Http.Reply reply = Http.send("POST", api("restores"), TestTokens.ADMIN, "application/json", """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "replace", "dry_run": true}"""
                .formatted(snapshot.get("id").asText(), live));
        dev.backstop.resources.ProblemJsonTest.assertProblem(reply, 422, "validation-failed");
        assertThat(reply.json().get("detail").asText()).contains("dry_run").contains("did you mean 'dryRun'");
        Http.Reply badKey = Http.send("POST", api("restores"), TestTokens.ADMIN, "application/json", """
                {"snapshotId": "%s", "target": {"paht": "%s"}, "mode": "replace"}""".formatted(snapshot.get("id").asText(), live));
        dev.backstop.resources.ProblemJsonTest.assertProblem(badKey, 422, "validation-failed");
        assertThat(badKey.json().get("detail").asText()).contains("paht");
        assertThat(SnapshotTestSupport.tree(live)).isEqualTo(before);
    }

    @Test
    void mistakesAboutTheTargetAreAnsweredAtOnceAndAreNotFailedRestores() throws Exception {
        JsonNode dir = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        JsonNode pg = SnapshotTestSupport.snapshot(APP.getLocalPort(), "pg");
        String failedBefore = failedRestoresMetric();
        Http.Reply existing = Http.send("POST", api("restores"), TestTokens.OPERATOR, "application/json", """
                {"snapshotId": "%s", "target": {"database": "%s"}, "mode": "new"}"""
                .formatted(pg.get("id").asText(), FIXTURE.postgres().database()));
        dev.backstop.resources.ProblemJsonTest.assertProblem(existing, 409, "conflict");
        assertThat(existing.json().get("detail").asText()).contains("already exists");
        Http.Reply missing = Http.send("POST", api("restores"), TestTokens.ADMIN, "application/json", """
                {"snapshotId": "%s", "target": {"database": "no_such_db_here"}, "mode": "replace"}""".formatted(pg.get("id").asText()));
        dev.backstop.resources.ProblemJsonTest.assertProblem(missing, 422, "validation-failed");
        assertThat(missing.json().get("detail").asText()).contains("does not exist");
        Http.Reply relative = Http.send("POST", api("restores"), TestTokens.OPERATOR, "application/json", """
                {"snapshotId": "%s", "target": {"path": "restored/here"}, "mode": "new"}""".formatted(dir.get("id").asText()));
        dev.backstop.resources.ProblemJsonTest.assertProblem(relative, 422, "validation-failed");
        assertThat(relative.json().get("detail").asText()).contains("relative path");
        assertThat(failedRestoresMetric()).as("a refusal is not a failed restore").isEqualTo(failedBefore);
    }

    private String failedRestoresMetric() {
        return Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/metrics/prometheus", null).body().lines()
                .filter(line -> line.startsWith("backstop_restores_total{outcome=\"failed\"")).sorted().toList().toString();
    }

    @Test
    void aDryRunOfADirectoryReplaceListsWhatWouldBeRemovedAndOverwritten() throws Exception {
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Path live = Files.createDirectories(FIXTURE.dir().resolve("dry-live"));
        Files.writeString(live.resolve("a.txt"), "other\n");
        Files.writeString(live.resolve("only-here.txt"), "would go\n");
        JsonNode done = restore(TestTokens.ADMIN, """
                {"snapshotId": "%s", "target": {"path": "%s"}, "mode": "replace", "dryRun": true}"""
                .formatted(snapshot.get("id").asText(), live));
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(done.get("detail").asText()).contains("would remove 1 files [only-here.txt]")
                .contains("overwrite 1 [a.txt]").contains("nothing changed");
        assertThat(Files.readString(live.resolve("only-here.txt"))).isEqualTo("would go\n");
    }

    @Test
    void badRestoreRequestsGetProblemJson() {
        dev.backstop.resources.ProblemJsonTest.assertProblem(Http.send("POST", api("restores"), TestTokens.OPERATOR,
                "application/json", "{\"snapshotId\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\", \"target\": {}, \"mode\": \"new\"}"), 404, "not-found");
        dev.backstop.resources.ProblemJsonTest.assertProblem(Http.send("POST", api("restores"), TestTokens.OPERATOR,
                "application/json", "{\"snapshotId\": \"x\", \"target\": {}, \"mode\": \"sideways\"}"), 422, "validation-failed");
        dev.backstop.resources.ProblemJsonTest.assertProblem(Http.send("POST", api("restores"), TestTokens.READER,
                "application/json", "{\"snapshotId\": \"x\", \"target\": {}, \"mode\": \"new\"}"), 403, "forbidden");
        dev.backstop.resources.ProblemJsonTest.assertProblem(Http.get(api("restores/nope"), TestTokens.READER), 400, "bad-request");
    }
}
