package dev.backstop.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.resources.ProblemJsonTest;
import dev.backstop.support.Http;
import dev.backstop.support.Shell;
import dev.backstop.support.TestBackstopApplication;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Failures against real components: a missing and a failing pg_dump, S3 going away mid-upload, a
 * full disk. Each must leave a FAILED row with a readable reason, no COMPLETED row, nothing under a
 * final key and no open multipart upload.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class SnapshotFailureTest {
    static final SnapshotFixture FIXTURE;
    static final Path BIG_DIR;
    static final Path SMALL_DISK;

    static {
        try {
            FIXTURE = new SnapshotFixture();
            BIG_DIR = Files.createDirectories(FIXTURE.dir.resolve("big"));
            Random random = new Random(7);
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < 40; i++) {
                random.nextBytes(chunk); // incompressible: 40 MiB stay ~40 MiB, eight 5 MiB parts
                Files.write(BIG_DIR.resolve("blob-" + i + ".bin"), chunk);
            }
            SMALL_DISK = Files.createDirectories(FIXTURE.dir.resolve("small-disk"));
            Shell.run(FIXTURE.dir, "mount -t tmpfs -o size=4m tmpfs " + SMALL_DISK);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final DropwizardAppExtension<BackstopConfiguration> APP = new DropwizardAppExtension<>(
            TestBackstopApplication.class, config());

    private static String config() {
        String yaml = FIXTURE.baseConfig(false).replace("                %8$s", "") + """
                  - {type: filesystem, name: tiny, path: %5$s}
                sources:
                  - {type: postgres, name: no-pg-dump, target: fs, host: %1$s, port: %2$d, database: %3$s, user: %4$s, pgDump: /nonexistent/pg_dump}
                  - {type: postgres, name: no-database, target: fs, host: %1$s, port: %2$d, database: no_such_database_here, user: %4$s}
                  - {type: directory, name: big-s3, target: s3, path: %6$s}
                  - {type: directory, name: big-tiny, target: tiny, path: %6$s}
                """.formatted(TestPostgres.HOST, TestPostgres.PORT, FIXTURE.postgres.database(), TestPostgres.USER, SMALL_DISK, BIG_DIR);
        // The extra target belongs in storage.targets: move it there from after the base config.
        yaml = yaml.replace("                      concurrency: 2\n", "                      concurrency: 2\n");
        try {
            return FIXTURE.writeConfig("failures.yml", insertTarget(yaml)).toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Moves the "tiny" target line into storage.targets. */
    private static String insertTarget(String yaml) {
        String tiny = "  - {type: filesystem, name: tiny, path: " + SMALL_DISK + "}\n";
        String withoutTiny = yaml.replace(tiny, "");
        return withoutTiny.replace("    - {type: filesystem, name: fs, path: " + FIXTURE.fsRoot + "}\n",
                "    - {type: filesystem, name: fs, path: " + FIXTURE.fsRoot + "}\n    - {type: filesystem, name: tiny, path: " + SMALL_DISK + "}\n");
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            Shell.run(FIXTURE.dir, "umount " + SMALL_DISK);
        } finally {
            FIXTURE.close();
        }
    }

    private int port() {
        return APP.getLocalPort();
    }

    @Test
    void missingPgDumpFailsWithItsPath() throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "no-pg-dump");
        assertFailedCleanly(view, "cannot start pg_dump", "/nonexistent/pg_dump");
    }

    @Test
    void pgDumpFailingFailsWithItsMessage() throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "no-database");
        assertFailedCleanly(view, "pg_dump exited with status 1", "no_such_database_here");
    }

    @Test
    void s3GoingAwayMidUploadFailsAndLeavesNoUpload() throws Exception {
        Http.Reply accepted = Http.send("POST", "http://127.0.0.1:" + port() + "/api/v1/snapshots", TestTokens.OPERATOR,
                "application/json", "{\"source\": \"big-s3\"}");
        String location = accepted.header("Location");
        // Wait until the multipart upload is under way, then take the server away.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() ->
                !FIXTURE.s3Client.listMultipartUploads(r -> r.bucket(SnapshotFixture.BUCKET)).uploads().isEmpty());
        FIXTURE.s3.pause();
        JsonNode view;
        try {
            await().atMost(Duration.ofSeconds(120)).until(() ->
                    !"RUNNING".equals(Http.get(location, TestTokens.READER).json().get("status").asText()));
            view = Http.get(location, TestTokens.READER).json();
        } finally {
            FIXTURE.s3.resume();
        }
        assertThat(view.get("status").asText()).isEqualTo("FAILED");
        assertThat(view.get("error").asText()).contains("s3://" + SnapshotFixture.BUCKET);
        assertThat(view.has("sha256")).isFalse();
        // The abort that failed during the outage is retried once S3 is back.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(FIXTURE.s3Client.listMultipartUploads(r -> r.bucket(SnapshotFixture.BUCKET)).uploads()).isEmpty());
        assertThat(FIXTURE.s3Client.listObjectsV2(r -> r.bucket(SnapshotFixture.BUCKET).prefix(SnapshotFixture.PREFIX + "/big-s3/"))
                .contents()).isEmpty();
        assertThat(view.get("error").asText()).doesNotContain(dev.backstop.support.S3ProxyServer.SECRET_KEY);
    }

    @Test
    void fullDiskFailsAndLeavesNoFiles() throws Exception {
        JsonNode view = SnapshotFixture.snapshot(port(), "big-tiny");
        assertThat(view.get("status").asText()).isEqualTo("FAILED");
        assertThat(view.get("error").asText()).containsIgnoringCase("no space left on device");
        try (Stream<Path> left = Files.walk(SMALL_DISK)) {
            assertThat(left.filter(Files::isRegularFile).toList()).as("no data, no temp part file").isEmpty();
        }
    }

    @Test
    void badRequestsGetProblemJson() {
        String url = "http://127.0.0.1:" + port() + "/api/v1/snapshots";
        ProblemJsonTest.assertProblem(Http.send("POST", url, TestTokens.OPERATOR, "application/json", "{\"source\": \"nope\"}"),
                422, "validation-failed");
        ProblemJsonTest.assertProblem(Http.send("POST", url, TestTokens.OPERATOR, "application/json", "{\"source\": "),
                400, "malformed-json");
        ProblemJsonTest.assertProblem(Http.send("POST", url, TestTokens.OPERATOR, "application/json", "{}"), 422, "validation-failed");
        ProblemJsonTest.assertProblem(Http.send("POST", url, TestTokens.READER, "application/json", "{\"source\": \"big-s3\"}"),
                403, "forbidden");
        ProblemJsonTest.assertProblem(Http.get(url + "/not-an-id", TestTokens.READER), 400, "bad-request");
        ProblemJsonTest.assertProblem(Http.get(url + "/01ARZ3NDEKTSV4RRFFQ69G5FAV", TestTokens.READER), 404, "not-found");
        ProblemJsonTest.assertProblem(Http.get(url + "?status=bogus", TestTokens.READER), 400, "bad-request");
        ProblemJsonTest.assertProblem(Http.get(url + "?from=yesterday", TestTokens.READER), 400, "bad-request");
        ProblemJsonTest.assertProblem(Http.get(url + "?limit=0", TestTokens.READER), 400, "bad-request");
        ProblemJsonTest.assertProblem(Http.send("DELETE", url + "/01ARZ3NDEKTSV4RRFFQ69G5FAV", TestTokens.OPERATOR, null, null),
                404, "not-found");
    }

    private void assertFailedCleanly(JsonNode view, String... reasonParts) throws Exception {
        assertThat(view.get("status").asText()).isEqualTo("FAILED");
        assertThat(view.get("error").asText()).contains(reasonParts);
        assertThat(view.has("sha256")).isFalse();
        String source = view.get("source").asText();
        Path sourceDir = FIXTURE.fsRoot.resolve(source);
        if (Files.exists(sourceDir)) {
            try (Stream<Path> left = Files.walk(sourceDir)) {
                assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
            }
        }
        JsonNode completed = Http.get("http://127.0.0.1:" + port() + "/api/v1/snapshots?status=COMPLETED&source=" + source,
                TestTokens.READER).json();
        assertThat(completed.get("items")).isEmpty();
    }
}
