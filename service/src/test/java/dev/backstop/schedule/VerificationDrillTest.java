package dev.backstop.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Verification drills against real PostgreSQL and files: the newest snapshot is restored into a
 * scratch copy, probed, recorded on the snapshot and the scratch removed; a corrupted object or a
 * probe that finds nothing fails the drill, which health reports.
 */
class VerificationDrillTest {
    private static final String NEVER = "0 0 0 1 1 ? 2099";

    private final Path dir = TestApps.tempDir("backstop-verify");
    private final YamlApps apps = new YamlApps(dir);
    private TestPostgres postgres;

    @AfterEach
    void cleanUp() throws Exception {
        apps.close();
        if (postgres != null) {
            postgres.close();
        }
    }

    private static JsonNode get(DropwizardTestSupport<BackstopConfiguration> app, String path) {
        Http.Reply reply = Http.get(YamlApps.api(app, path), TestTokens.READER);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        return reply.json();
    }

    private static void trigger(DropwizardTestSupport<BackstopConfiguration> app, String job) {
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/" + job + "/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
    }

    /** Triggers the snapshot job and returns the COMPLETED snapshot it made. */
    private static JsonNode snapshot(DropwizardTestSupport<BackstopConfiguration> app, String source) {
        int before = get(app, "/snapshots?source=" + source).get("items").size();
        trigger(app, "snapshot." + source);
        await().atMost(Duration.ofSeconds(30)).until(() -> get(app, "/snapshots?source=" + source + "&status=COMPLETED")
                .get("items").size() > before);
        return get(app, "/snapshots?source=" + source + "&status=COMPLETED").get("items").get(0);
    }

    /** Triggers the drill and waits for its outcome on the snapshot. */
    private static JsonNode drill(DropwizardTestSupport<BackstopConfiguration> app, String source, String snapshotId,
            String previousVerifiedAt) {
        trigger(app, "verify." + source);
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode row = get(app, "/snapshots/" + snapshotId);
            return row.has("verifyStatus") && !row.get("verifiedAt").asText().equals(previousVerifiedAt);
        });
        return get(app, "/snapshots/" + snapshotId);
    }

    private static JsonNode health(DropwizardTestSupport<BackstopConfiguration> app, String source) {
        JsonNode detailed = Http.get(YamlApps.admin(app, "/health/detailed"), null).json();
        for (JsonNode entry : detailed.get("checks").get("verification:newestVerifiedAge")) {
            if (entry.get("componentId").asText().equals(source)) {
                return entry;
            }
        }
        throw new AssertionError("no verification health entry for " + source + ": " + detailed);
    }

    private int scratchDatabases() throws Exception {
        try (Connection c = postgres.connect(); Statement s = c.createStatement();
                ResultSet rows = s.executeQuery("SELECT count(*) FROM pg_database WHERE datname LIKE 'backstop_verify_%'")) {
            rows.next();
            return rows.getInt(1);
        }
    }

    @Test
    void postgresDrillRestoresProbesAndDropsTheScratchDatabase() throws Exception {
        postgres = TestPostgres.create();
        try (Connection c = postgres.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE items (id int PRIMARY KEY, name text)");
            s.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 250) g");
        }
        var app = apps.start("", """
                  - type: postgres
                    name: pg
                    host: %2$s
                    port: %3$d
                    database: %4$s
                    user: %5$s
                    schedule: "%6$s"
                    verify: {schedule: "%6$s", probeQuery: "SELECT count(*) FROM items"}
                  - type: postgres
                    name: pg-empty-probe
                    host: %2$s
                    port: %3$d
                    database: %4$s
                    user: %5$s
                    schedule: "%6$s"
                    verify: {schedule: "%6$s", probeQuery: "SELECT id FROM items WHERE id < 0"}
                """.replace("%2$s", TestPostgres.HOST).replace("%3$d", Integer.toString(TestPostgres.PORT))
                .replace("%4$s", postgres.database()).replace("%5$s", TestPostgres.USER).replace("%6$s", NEVER));
        assertThat(health(app, "pg").get("status").asText()).as("nothing verified yet").isEqualTo("warn");

        JsonNode taken = snapshot(app, "pg");
        JsonNode verified = drill(app, "pg", taken.get("id").asText(), "");
        assertThat(verified.get("verifyStatus").asText()).as(verified.toString()).isEqualTo("PASSED");
        assertThat(verified.get("verifyDetail").asText()).contains("probe query returned 250");
        assertThat(scratchDatabases()).as("the scratch database is dropped").isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> "pass".equals(health(app, "pg").get("status").asText()));
        assertThat(health(app, "pg").get("observedUnit").asText()).isEqualTo("s");

        JsonNode other = snapshot(app, "pg-empty-probe");
        JsonNode failed = drill(app, "pg-empty-probe", other.get("id").asText(), "");
        assertThat(failed.get("verifyStatus").asText()).isEqualTo("FAILED");
        assertThat(failed.get("verifyDetail").asText()).contains("probe query returned no rows");
        assertThat(scratchDatabases()).isZero();
        JsonNode job = get(app, "/jobs/verify.pg-empty-probe");
        await().atMost(Duration.ofSeconds(5)).until(() -> get(app, "/jobs/verify.pg-empty-probe").has("lastRun"));
        assertThat(get(app, "/jobs/verify.pg-empty-probe").get("lastRun").get("outcome").asText()).isEqualTo("FAILED");
        assertThat(job.get("name").asText()).isEqualTo("verify.pg-empty-probe");
    }

    @Test
    void corruptedObjectFailsTheDrillAndHealthWarns() throws Exception {
        Files.createDirectories(dir.resolve("data/sub"));
        Files.writeString(dir.resolve("data/a.txt"), "alpha");
        Files.writeString(dir.resolve("data/sub/b.txt"), "beta");
        var app = apps.start("", """
                  - {type: directory, name: files, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099", verify: {schedule: "0 0 0 1 1 ? 2099"}}
                """);
        JsonNode taken = snapshot(app, "files");
        String id = taken.get("id").asText();
        JsonNode passed = drill(app, "files", id, "");
        assertThat(passed.get("verifyStatus").asText()).as(passed.toString()).isEqualTo("PASSED");
        assertThat(passed.get("verifyDetail").asText()).contains("3 entries restored");
        try (var leftovers = Files.list(dir.resolve("staging"))) {
            assertThat(leftovers.filter(p -> p.getFileName().toString().startsWith("backstop_verify_"))).isEmpty();
        }

        Path object = dir.resolve("backups").resolve(taken.get("dataKey").asText());
        byte[] bytes = Files.readAllBytes(object);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(object, bytes);
        JsonNode failed = drill(app, "files", id, passed.get("verifiedAt").asText());
        assertThat(failed.get("verifyStatus").asText()).isEqualTo("FAILED");
        assertThat(failed.get("verifyDetail").asText()).containsIgnoringCase("sha-256");
        // Awaited on the output itself: a round still cached from before the first drill also says warn.
        await().atMost(Duration.ofSeconds(10)).until(() -> health(app, "files").path("output").asText().contains("failed its drill"));
        assertThat(health(app, "files").get("status").asText()).isEqualTo("warn");
    }

    @Test
    void h2AndSqliteDrillsRestoreIntoScratchFilesProbeAndRemoveThem() throws Exception {
        try (var h2 = java.sql.DriverManager.getConnection("jdbc:h2:" + dir.resolve("app-h2"), "app", "secret");
                Statement s = h2.createStatement()) {
            s.execute("CREATE TABLE orders (id INT PRIMARY KEY)");
            s.execute("INSERT INTO orders SELECT X FROM SYSTEM_RANGE(1, 42)");
        }
        try (var lite = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("app.sqlite"));
                Statement s = lite.createStatement()) {
            s.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
            s.execute("INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')");
        }
        var app = apps.start("", """
                  - {type: h2, name: app-h2, url: "jdbc:h2:%1$s/app-h2", user: app, password: secret, schedule: "0 0 0 1 1 ? 2099", verify: {schedule: "0 0 0 1 1 ? 2099", probeQuery: "SELECT COUNT(*) FROM orders"}}
                  - {type: sqlite, name: app-lite, path: %1$s/app.sqlite, schedule: "0 0 0 1 1 ? 2099", verify: {schedule: "0 0 0 1 1 ? 2099", probeQuery: "SELECT COUNT(*) FROM notes"}}
                """);
        JsonNode h2 = drill(app, "app-h2", snapshot(app, "app-h2").get("id").asText(), "");
        assertThat(h2.get("verifyStatus").asText()).as(h2.toString()).isEqualTo("PASSED");
        assertThat(h2.get("verifyDetail").asText()).contains("probe query returned 42");
        JsonNode lite = drill(app, "app-lite", snapshot(app, "app-lite").get("id").asText(), "");
        assertThat(lite.get("verifyStatus").asText()).as(lite.toString()).isEqualTo("PASSED");
        assertThat(lite.get("verifyDetail").asText()).contains("probe query returned 3");
        try (var leftovers = Files.list(dir.resolve("staging"))) {
            assertThat(leftovers.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("backstop_verify_")))
                    .as("scratch copies are removed").isEmpty();
        }
    }

    @Test
    void aRebuiltCatalogKnowsWhichSnapshotsPassedTheirDrillAndRetentionKeepsThem() throws Exception {
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/a.txt"), "a\n");
        String sources = """
                  - type: directory
                    name: files
                    path: %1$s/data
                    schedule: "0 0 0 1 1 ? 2099"
                    retention: {keepLast: 1, schedule: "0 0 0 1 1 ? 2099"}
                    verify: {schedule: "0 0 0 1 1 ? 2099"}
                """;
        var app = apps.start("", sources);
        String proven = snapshot(app, "files").get("id").asText();
        assertThat(drill(app, "files", proven, "").get("verifyStatus").asText()).isEqualTo("PASSED");
        String newer = snapshot(app, "files").get("id").asText();
        apps.stop(app);

        // The catalog is lost; storage still holds manifests and the drill's record.
        Files.delete(dir.resolve("catalog.mv.db"));
        var rebuilt = apps.start("", sources);
        Http.Reply task = Http.send("POST", YamlApps.admin(rebuilt, "/tasks/rebuild-catalog"), null, null, null);
        assertThat(task.status()).as(task.body()).isEqualTo(200);
        JsonNode row = get(rebuilt, "/snapshots/" + proven);
        assertThat(row.get("verifyStatus").asText()).as(row.toString()).isEqualTo("PASSED");
        assertThat(get(rebuilt, "/snapshots/" + newer).has("verifyStatus")).isFalse();

        JsonNode preview = get(rebuilt, "/retention/files/preview");
        assertThat(preview.get("delete")).as(preview.toString()).isEmpty();
        assertThat(preview.get("keep").findValuesAsText("id")).containsExactly(newer, proven);
        assertThat(preview.get("keep").get(1).get("reasons").toString()).contains("passed verification");
    }
}
