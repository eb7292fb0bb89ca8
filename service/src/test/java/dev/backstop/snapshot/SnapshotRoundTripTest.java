package dev.backstop.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Shell;
import dev.backstop.support.TestBackstopApplication;
import dev.backstop.support.TestPostgres;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every source type to both targets, encrypted, through the REST API; then the object is fetched
 * with a plain read or S3 GET, its SHA-256 checked, decrypted with gpg, decompressed with zstd and
 * compared with the source using the stock tools (pg_restore, RUNSCRIPT, sqlite, tar).
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class SnapshotRoundTripTest {
    static final SnapshotFixture FIXTURE;
    static final Path SOURCE_DIR;
    static final Path SQLITE_FILE;
    static final String H2_URL;

    static {
        try {
            FIXTURE = new SnapshotFixture();
            SOURCE_DIR = Files.createDirectories(FIXTURE.dir.resolve("data"));
            SQLITE_FILE = FIXTURE.dir.resolve("app.sqlite");
            H2_URL = "jdbc:h2:" + FIXTURE.dir.resolve("apph2");
            populate();
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final DropwizardAppExtension<BackstopConfiguration> APP = new DropwizardAppExtension<>(
            TestBackstopApplication.class, config());

    private static String config() {
        StringBuilder sources = new StringBuilder("sources:\n");
        for (String target : List.of("fs", "s3")) {
            sources.append("""
                      - {type: postgres, name: pg-%1$s, target: %1$s, host: %2$s, port: %3$d, database: %4$s, user: %5$s}
                      - {type: h2, name: h2-%1$s, target: %1$s, url: "%6$s", user: sa, password: ""}
                      - {type: sqlite, name: sqlite-%1$s, target: %1$s, path: %7$s}
                      - {type: directory, name: dir-%1$s, target: %1$s, path: %8$s, exclude: ["**/*.tmp"]}
                    """.formatted(target, TestPostgres.HOST, TestPostgres.PORT, FIXTURE.postgres.database(), TestPostgres.USER,
                    H2_URL, SQLITE_FILE, SOURCE_DIR));
        }
        // The same four as whole objects (sources[].format: object), as every snapshot was before chunked repositories.
        sources.append("""
                  - {type: postgres, name: pg-obj, target: fs, format: object, host: %1$s, port: %2$d, database: %3$s, user: %4$s}
                  - {type: h2, name: h2-obj, target: fs, format: object, url: "%5$s", user: sa, password: ""}
                  - {type: sqlite, name: sqlite-obj, target: fs, format: object, path: %6$s}
                  - {type: directory, name: dir-obj, target: fs, format: object, path: %7$s, exclude: ["**/*.tmp"]}
                """.formatted(TestPostgres.HOST, TestPostgres.PORT, FIXTURE.postgres.database(), TestPostgres.USER, H2_URL,
                SQLITE_FILE, SOURCE_DIR));
        try {
            return FIXTURE.writeConfig("roundtrip.yml", FIXTURE.baseConfig(true) + sources).toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        FIXTURE.close();
    }

    private static void populate() throws Exception {
        try (Connection c = FIXTURE.postgres.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA shop");
            s.execute("""
                    CREATE TABLE shop.orders (id bigserial PRIMARY KEY, amount numeric(12,2), note text, attrs jsonb,
                                              blob bytea, created timestamptz DEFAULT now())""");
            s.execute("""
                    INSERT INTO shop.orders (amount, note, attrs, blob)
                    SELECT g * 1.5, 'order ' || g || ' ünïcödé', jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)),
                           decode(md5(g::text) || md5((g * 7)::text), 'hex')
                    FROM generate_series(1, 5000) g""");
            s.execute("CREATE TABLE public.events (id int PRIMARY KEY, kind text NOT NULL)");
            s.execute("INSERT INTO public.events SELECT g, 'kind-' || (g % 7) FROM generate_series(1, 1000) g");
        }
        try (Connection c = DriverManager.getConnection(H2_URL, "sa", ""); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), data BINARY VARYING(64), doc CLOB)");
            s.execute("INSERT INTO items SELECT X, 'item ' || X, CAST(HASH('SHA-256', CAST(X AS VARCHAR)) AS BINARY VARYING(64)), "
                    + "REPEAT('text', X) FROM SYSTEM_RANGE(1, 500)");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE); Statement s = c.createStatement()) {
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, data BLOB)");
            s.execute("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000) "
                    + "INSERT INTO notes SELECT x, 'note ' || x, randomblob(32) FROM n");
        }
        Files.createDirectories(SOURCE_DIR.resolve("sub/deeper"));
        Files.createDirectories(SOURCE_DIR.resolve("empty"));
        Files.writeString(SOURCE_DIR.resolve("readme.txt"), "hello\n");
        Files.writeString(SOURCE_DIR.resolve("sub/ünïcödé name.txt"), "unicode\n");
        byte[] random = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(random);
        Files.write(SOURCE_DIR.resolve("sub/deeper/random.bin"), random);
        Path script = Files.writeString(SOURCE_DIR.resolve("run.sh"), "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(SOURCE_DIR.resolve("link-to-readme"), Path.of("readme.txt"));
        Files.writeString(SOURCE_DIR.resolve("scratch.tmp"), "excluded");
        Files.setLastModifiedTime(SOURCE_DIR.resolve("readme.txt"), FileTime.fromMillis(1_600_000_000_000L));
    }

    private int port() {
        return APP.getLocalPort();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fs", "s3", "obj"})
    void postgresRoundTripsThroughPgRestore(String target) throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "pg-" + target);
        Path dump = FIXTURE.fetchVerifyAndDecode(view);
        assertThat(view.get("dataKey").asText()).endsWith(target.equals("obj") ? "/data.dump.zst.pgp" : "/data.dump.chunks.jsonl")
                .startsWith("pg-" + target + "/" + view.get("startedAt").asText().substring(0, 4) + "/");
        assertThat(view.get("storageFormat").asText()).isEqualTo(target.equals("obj") ? "object" : "chunked-1");
        try (TestPostgres restored = TestPostgres.create()) {
            Shell.run(FIXTURE.dir, "pg_restore --no-owner -h " + TestPostgres.HOST + " -p " + TestPostgres.PORT + " -U "
                    + TestPostgres.USER + " -d " + restored.database() + " " + dump);
            for (String table : List.of("shop.orders", "public.events")) {
                assertThat(tableFingerprint(restored.connect(), table)).isEqualTo(tableFingerprint(FIXTURE.postgres.connect(), table));
            }
        }
        JsonNode manifest = FIXTURE.manifest(view);
        assertThat(manifest.get("toolVersions").get("pg_dump").asText()).matches("\\d+\\.\\d+.*");
        assertThat(manifest.get("sourceType").asText()).isEqualTo("postgres");
        assertThat(manifest.toString()).doesNotContain(dev.backstop.support.S3ProxyServer.SECRET_KEY);
    }

    @ParameterizedTest
    @ValueSource(strings = {"fs", "s3", "obj"})
    void h2RoundTripsThroughRunscript(String target) throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "h2-" + target);
        Path script = FIXTURE.fetchVerifyAndDecode(view);
        try (Connection restored = DriverManager.getConnection("jdbc:h2:mem:restored-" + target, "sa", "");
                Connection original = DriverManager.getConnection(H2_URL, "sa", "");
                Statement s = restored.createStatement()) {
            s.execute("RUNSCRIPT FROM '" + script + "'");
            String query = "SELECT id, name, data, doc FROM items ORDER BY id";
            assertThat(rows(restored, query)).hasSize(500).isEqualTo(rows(original, query));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fs", "s3", "obj"})
    void sqliteRoundTripsAsAFile(String target) throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "sqlite-" + target);
        Path copy = FIXTURE.fetchVerifyAndDecode(view);
        String query = "SELECT id, body, hex(data) FROM notes ORDER BY id";
        try (Connection restored = DriverManager.getConnection("jdbc:sqlite:" + copy);
                Connection original = DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE)) {
            assertThat(rows(restored, query)).hasSize(2000).isEqualTo(rows(original, query));
        }
        try (Stream<Path> staging = Files.list(Files.createDirectories(FIXTURE.dir.resolve("staging")))) {
            assertThat(staging).as("the staged copy is removed").isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fs", "s3", "obj"})
    void directoryRoundTripsThroughTarByteForByte(String target) throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "dir-" + target);
        Path tar = FIXTURE.fetchVerifyAndDecode(view);
        Path extracted = Files.createTempDirectory(FIXTURE.dir, "untar");
        Shell.run(extracted, "tar -x -p -f " + tar);
        TreeMap<String, String> expected = tree(SOURCE_DIR);
        expected.remove("scratch.tmp");
        assertThat(tree(extracted)).isEqualTo(expected);
        assertThat(Files.getLastModifiedTime(extracted.resolve("readme.txt")).toMillis()).isEqualTo(1_600_000_000_000L);
        assertThat(view.get("filesChanged").asInt()).isZero();
    }

    /**
     * The README's stock-tool recovery block, run line by line as an operator would (gpg, zstd,
     * pg_restore, tar), against objects fetched from storage under the names the README uses.
     */
    @org.junit.jupiter.api.Test
    void stockRecoveryCommandsFromTheReadmeWork() throws Exception {
        runStockBlock("stock-recovery", "fs", true);
    }

    @org.junit.jupiter.api.Test
    void stockRecoveryOfWholeObjectsFromTheReadmeWorks() throws Exception {
        runStockBlock("stock-recovery-object", "obj", false);
    }

    /** Runs a README block verbatim in a directory holding the snapshots' data objects (and the repository's packs). */
    private void runStockBlock(String marker, String suffix, boolean chunked) throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String block = readme.substring(readme.indexOf("<!-- " + marker + ":begin -->"), readme.indexOf("<!-- " + marker + ":end -->"));
        List<String> commands = block.lines().filter(l -> !l.startsWith("```") && !l.startsWith("<!--") && !l.isBlank()).toList();
        assertThat(commands).hasSize(5);

        Path work = Files.createTempDirectory(FIXTURE.dir, "stock");
        Files.createDirectories(work.resolve("restored_dir"));
        for (String source : List.of("pg-", "dir-", "sqlite-", "h2-")) {
            JsonNode view = SnapshotFixture.snapshot(port(), source + suffix);
            String key = view.get("dataKey").asText();
            FIXTURE.fetch(view, key, work.resolve(Path.of(key).getFileName().toString()));
            assertThat(Shell.run(work, "sha256sum " + Path.of(key).getFileName())).startsWith(FIXTURE.manifest(view).get("sha256").asText());
        }
        if (chunked) {
            Shell.run(work, "cp -r " + FIXTURE.fsRoot.resolve("repository") + " repository");
        }
        try (TestPostgres restored = TestPostgres.create()) {
            String env = "export GNUPGHOME=" + FIXTURE.gpg.home() + " PGHOST=" + TestPostgres.HOST + " PGPORT=" + TestPostgres.PORT
                    + " PGUSER=" + TestPostgres.USER + "; ";
            for (String command : commands) {
                String line = command.replaceAll("\\s+#.*$", "").replace("restored_db", restored.database());
                Shell.run(work, env + line.replace("gpg --decrypt", "gpg --batch --pinentry-mode loopback --passphrase '' --decrypt"));
            }
            assertThat(tableFingerprint(restored.connect(), "shop.orders")).isEqualTo(tableFingerprint(FIXTURE.postgres.connect(), "shop.orders"));
        }
        TreeMap<String, String> expected = tree(SOURCE_DIR);
        expected.remove("scratch.tmp");
        assertThat(tree(work.resolve("restored_dir"))).isEqualTo(expected);
        String notes = "SELECT id, body, hex(data) FROM notes ORDER BY id";
        try (Connection restored = DriverManager.getConnection("jdbc:sqlite:" + work.resolve("restored.sqlite"));
                Connection original = DriverManager.getConnection("jdbc:sqlite:" + SQLITE_FILE)) {
            assertThat(rows(restored, notes)).isEqualTo(rows(original, notes));
        }
        try (Connection restored = DriverManager.getConnection("jdbc:h2:mem:stock-restored", "sa", "");
                Statement s = restored.createStatement()) {
            s.execute("RUNSCRIPT FROM '" + work.resolve("restored.sql") + "'");
            assertThat(rows(restored, "SELECT COUNT(*) FROM items")).containsExactly(List.of("500"));
        }
    }

    @org.junit.jupiter.api.Test
    void snapshotMetricsAndHealthAreExposed() throws Exception {
        SnapshotFixture.snapshot(port(), "dir-fs");
        String scrape = dev.backstop.support.Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/metrics/prometheus", null).body();
        assertThat(scrape)
                .containsPattern("backstop_snapshots_total\\{outcome=\"completed\",source=\"dir-fs\"} [1-9]")
                .contains("backstop_snapshot_duration_seconds_count{source=\"dir-fs\"}")
                .containsPattern("backstop_snapshot_raw_bytes_total\\{source=\"dir-fs\"} [1-9]")
                .containsPattern("backstop_snapshot_last_success_timestamp_seconds\\{source=\"dir-fs\"} 1\\.[0-9]+E9");
        JsonNode health = dev.backstop.support.Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/health/detailed", null).json();
        assertThat(health.get("checks").get("storage:writable").findValuesAsText("componentId")).containsExactly("fs", "s3");
        assertThat(health.get("checks").get("storage:writable").findValuesAsText("status")).containsOnly("pass");
        assertThat(health.get("checks").get("source:reachable").findValuesAsText("status")).containsOnly("pass");
        assertThat(health.get("checks").get("source:reachable")).hasSize(12);
    }

    @org.junit.jupiter.api.Test
    void listingPagesAndFiltersAndDeleteRemovesTheObjects() throws Exception {
        String base = "http://127.0.0.1:" + port() + "/api/v1/snapshots";
        JsonNode a = SnapshotFixture.snapshot(port(), "sqlite-fs");
        JsonNode b = SnapshotFixture.snapshot(port(), "sqlite-fs");
        JsonNode c = SnapshotFixture.snapshot(port(), "sqlite-fs");
        JsonNode page1 = dev.backstop.support.Http.get(base + "?source=sqlite-fs&limit=2", dev.backstop.support.TestTokens.READER).json();
        assertThat(page1.get("items").findValuesAsText("id")).containsExactly(c.get("id").asText(), b.get("id").asText());
        JsonNode page2 = dev.backstop.support.Http.get(base + "?source=sqlite-fs&limit=2&cursor=" + page1.get("next").asText(),
                dev.backstop.support.TestTokens.READER).json();
        assertThat(page2.get("items").findValuesAsText("id")).contains(a.get("id").asText());
        String from = b.get("startedAt").asText();
        JsonNode since = dev.backstop.support.Http.get(base + "?source=sqlite-fs&status=completed&from=" + from + "&to=" + c.get("finishedAt").asText(),
                dev.backstop.support.TestTokens.READER).json();
        assertThat(since.get("items").findValuesAsText("id")).containsExactly(c.get("id").asText(), b.get("id").asText());

        dev.backstop.support.Http.Reply deleted = dev.backstop.support.Http.send("DELETE", base + "/" + a.get("id").asText(),
                dev.backstop.support.TestTokens.OPERATOR, null, null);
        assertThat(deleted.status()).isEqualTo(200);
        assertThat(deleted.json().get("status").asText()).isEqualTo("DELETED");
        assertThat(FIXTURE.fsRoot.resolve(a.get("dataKey").asText())).doesNotExist();
        assertThat(FIXTURE.fsRoot.resolve(a.get("manifestKey").asText())).doesNotExist();
        assertThat(FIXTURE.fsRoot.resolve(b.get("dataKey").asText())).exists();
        assertThat(dev.backstop.support.Http.send("DELETE", base + "/" + b.get("id").asText(),
                dev.backstop.support.TestTokens.READER, null, null).status()).as("readers may not delete").isEqualTo(403);
    }

    /** Every entry: type, mode, and content hash or link target. */
    static TreeMap<String, String> tree(Path root) throws Exception {
        TreeMap<String, String> entries = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.naturalOrder()).toList()) {
                if (p.equals(root)) {
                    continue;
                }
                String name = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    entries.put(name, "link -> " + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    entries.put(name, "dir " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)));
                } else {
                    entries.put(name, "file " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)) + " "
                            + SnapshotFixture.sha256(p));
                }
            }
        }
        return entries;
    }

    static String tableFingerprint(Connection connection, String table) throws Exception {
        try (connection; Statement s = connection.createStatement();
                ResultSet r = s.executeQuery("SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM "
                        + table + " t")) {
            r.next();
            return r.getString(1);
        }
    }

    static List<List<String>> rows(Connection connection, String query) throws Exception {
        List<List<String>> rows = new ArrayList<>();
        try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery(query)) {
            int columns = r.getMetaData().getColumnCount();
            while (r.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    Object value = r.getObject(i);
                    row.add(value instanceof byte[] bytes ? java.util.HexFormat.of().formatHex(bytes)
                            : value instanceof java.sql.Clob clob ? clob.getSubString(1, (int) clob.length())
                            : String.valueOf(value));
                }
                rows.add(row);
            }
        }
        return rows;
    }

}
