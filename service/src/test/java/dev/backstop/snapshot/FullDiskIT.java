package dev.backstop.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.Shell;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A full disk under every source type (an IT: it mounts small tmpfs filesystems, which needs root,
 * as CI has): each snapshot that runs out of space ends FAILED and leaves nothing behind, in
 * staging or in the target; and a target that cannot be written fails readiness until it can.
 */
class FullDiskIT {
    private final Path dir = TestApps.tempDir("backstop-full-disk");
    private final YamlApps apps = new YamlApps(dir);
    private final Path staging = dir.resolve("staging");
    private final Path tiny = dir.resolve("tiny");
    private TestPostgres postgres;

    @AfterEach
    void cleanUp() throws Exception {
        apps.close();
        for (Path mount : List.of(staging, tiny)) {
            Shell.run(dir, "umount -l " + mount + " 2>/dev/null || true");
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    private static boolean root() throws Exception {
        return "0".equals(Shell.run(Path.of("/"), "id -u").strip());
    }

    private void mount(Path at, String size) throws Exception {
        Files.createDirectories(at);
        Shell.run(dir, "mount -t tmpfs -o size=" + size + " tmpfs " + at);
    }

    private static long files(Path root, String except) throws Exception {
        try (Stream<Path> all = Files.walk(root)) {
            return all.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals(except)).count();
        }
    }

    @Test
    void everySourceTypeThatRunsOutOfSpaceFailsAndLeavesNothing() throws Exception {
        Assumptions.assumeTrue(root(), "mounting tmpfs needs root");
        mount(staging, "1m");
        mount(tiny, "1m");
        Random random = new Random(7);
        byte[] noise = new byte[3 << 20];
        random.nextBytes(noise);
        Files.createDirectories(dir.resolve("files"));
        Files.write(dir.resolve("files/noise.bin"), noise);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("app.sqlite")); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t (b BLOB)");
            try (var insert = c.prepareStatement("INSERT INTO t VALUES (?)")) {
                for (int i = 0; i < 3; i++) {
                    byte[] chunk = new byte[1 << 20];
                    random.nextBytes(chunk);
                    insert.setBytes(1, chunk);
                    insert.execute();
                }
            }
        }
        try (Connection c = DriverManager.getConnection("jdbc:h2:" + dir.resolve("h2db"), "sa", ""); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t (b VARBINARY(2000000))");
            s.execute("INSERT INTO t SELECT SECURE_RAND(1000000) FROM SYSTEM_RANGE(1, 3)");
        }
        postgres = TestPostgres.create();
        try (Connection c = postgres.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t AS SELECT md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 100000) g");
        }
        DropwizardTestSupport<BackstopConfiguration> app = apps.start("""
                storage:
                  targets:
                    - {type: filesystem, name: local, path: %1$s/backups}
                    - {type: filesystem, name: tiny, path: %1$s/tiny}
                """, """
                  - {type: sqlite, name: lite, path: %1$s/app.sqlite}
                  - {type: directory, name: files, target: tiny, path: %1$s/files}
                  - {type: h2, name: h2, target: tiny, url: "jdbc:h2:%1$s/h2db", user: sa, password: ""}
                  - {type: postgres, name: pg, target: tiny, host: %2$s, port: %3$d, database: %4$s, user: %5$s}
                """.replace("%2$s", TestPostgres.HOST).replace("%3$d", Integer.toString(TestPostgres.PORT))
                .replace("%4$s", postgres.database()).replace("%5$s", TestPostgres.USER));
        for (String source : List.of("lite", "files", "h2", "pg")) {
            JsonNode row = snapshot(app, source);
            assertThat(row.get("status").asText()).as(source + ": " + row).isEqualTo("FAILED");
            assertThat(files(staging, null)).as(source + " left something in staging").isZero();
            assertThat(files(tiny, null)).as(source + " left something in the target").isZero();
        }

        // The target `files` writes to is full: readiness fails, and passes again once there is room.
        Path filler = tiny.resolve("filler");
        Shell.run(dir, "dd if=/dev/zero of=" + filler + " bs=4k 2>/dev/null || true");
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.admin(app, "/health/ready"), null).status() == 503);
        assertThat(Http.get(YamlApps.admin(app, "/health/ready"), null).json().get("checks").get("storage:writable").toString())
                .contains("tiny").contains("fail");
        Files.delete(filler);
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.admin(app, "/health/ready"), null).status() == 200);
    }

    private static JsonNode snapshot(DropwizardTestSupport<BackstopConfiguration> app, String source) {
        Http.Reply taken = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"" + source + "\"}");
        assertThat(taken.status()).as(taken.body()).isEqualTo(202);
        String id = taken.json().get("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> !Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json()
                .get("status").asText().equals("RUNNING"));
        return Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
    }
}
