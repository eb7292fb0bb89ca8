package dev.backstop.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admin port's status page, as an operator's browser sees it: a real headless Chromium (Debian
 * {@code chromium}, installed by .ci/run) renders it with JavaScript off at a phone's width, the
 * snapshot taken here is on it, and a screenshot is kept in service/target/screenshots.
 */
class StatusPageTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static Path dir;
    static YamlApps apps;
    static DropwizardTestSupport<BackstopConfiguration> app;
    static String snapshotId;

    @BeforeAll
    static void startWithASnapshot() throws Exception {
        dir = TestApps.tempDir("backstop-status");
        apps = new YamlApps(dir);
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/a.txt"), "a\n");
        app = apps.start("", """
                  - {type: directory, name: files, path: %1$s/data, schedule: "0 0 3 * * ?",
                     retention: {keepDaily: 7, minKeep: 2, schedule: "0 30 3 * * ?"}, verify: {schedule: "0 0 4 * * ?"}}
                  - {type: directory, name: broken, path: "%1$s/<b>gone</b>"}
                """);
        // A failure whose reason holds markup (the missing path): the page must show it as text.
        Http.Reply broken = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"broken\"}");
        String brokenId = broken.json().get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + brokenId), TestTokens.READER)
                .json().get("status").asText().equals("FAILED"));
        Http.Reply started = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"files\"}");
        snapshotId = started.json().get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + snapshotId), TestTokens.READER)
                .json().get("status").asText().equals("COMPLETED"));
    }

    @AfterAll
    static void stop() {
        apps.close();
    }

    private static String page() {
        return Http.get(YamlApps.admin(app, "/"), null).body();
    }

    @Test
    void thePageIsPlainHtmlThatEscapesWhatItShows() {
        Http.Reply reply = Http.get(YamlApps.admin(app, "/"), null);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.contentType()).startsWith("text/html");
        assertThat(reply.header("Content-Security-Policy")).contains("default-src 'none'");
        await().atMost(Duration.ofSeconds(10)).until(() -> page().contains(snapshotId));
        String html = page();
        assertThat(html).doesNotContainIgnoringCase("<script").doesNotContain("src=\"http").doesNotContain("href=\"http");
        assertThat(html).contains("&lt;b&gt;gone&lt;/b&gt;").doesNotContain("<b>gone</b>").contains("snapshot of broken");
        assertThat(html).contains("keep daily 7, at least 2").contains("0 0 3 * * ?").contains("CLOSED")
                .contains("href=\"/health/detailed\"").contains("href=\"/metrics/prometheus\"");
        // Dropwizard's own admin servlets are still there beside it.
        assertThat(Http.get(YamlApps.admin(app, "/ping"), null).body()).contains("pong");
    }

    @Test
    void theRepositoryAndWhatSnapshotsAddedAreOnThePageAndInTheMetrics() {
        await().atMost(Duration.ofSeconds(10)).until(() -> page().contains("1 pack, "));
        String html = page();
        assertThat(html).contains("Retained").contains("1 snapshot, ").contains(" whole, ").contains(" stored new")
                .contains("1 chunk").doesNotContain("to be deleted by a prune");
        String scrape = Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
        assertThat(scrape).containsPattern("backstop_repository_packs\\{[^}]*status=\"live\"[^}]*\\} 1\\.0")
                .containsPattern("backstop_repository_stored_bytes\\{[^}]*status=\"live\"[^}]*\\} [1-9]")
                .containsPattern("backstop_repository_packs\\{[^}]*status=\"condemned\"[^}]*\\} 0\\.0")
                .containsPattern("backstop_snapshot_added_bytes_total\\{source=\"files\"\\} [1-9]");
    }

    @Test
    void headlessChromiumRendersItWithJavaScriptOffAtAPhonesWidth() throws Exception {
        assertThat(CHROMIUM).as("Debian's chromium is installed (.ci/run installs it)").isExecutable();
        await().atMost(Duration.ofSeconds(10)).until(() -> page().contains(snapshotId));
        Path screenshots = Files.createDirectories(Path.of("target", "screenshots"));
        Path screenshot = screenshots.resolve("status-page.png");
        Files.deleteIfExists(screenshot);
        String dom = chromium("--dump-dom");
        assertThat(dom).contains("Sources").contains(snapshotId).contains("Storage targets").contains("Last failures");
        chromium("--screenshot=" + screenshot.toAbsolutePath());
        assertThat(screenshot).exists();
        assertThat(Files.size(screenshot)).as("a real PNG was drawn").isGreaterThan(5_000);
        byte[] png = Files.readAllBytes(screenshot);
        assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
    }

    /** One headless Chromium run with its own profile; every process it started is gone afterwards. */
    private static String chromium(String action) throws Exception {
        Path profile = Files.createTempDirectory(dir, "chromium-profile");
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-javascript", "--user-data-dir=" + profile, "--window-size=390,1400",
                "--hide-scrollbars", action, YamlApps.admin(app, "/")));
        Process process = new ProcessBuilder(command).redirectError(dir.resolve("chromium.log").toFile()).start();
        try {
            String out = new String(process.getInputStream().readAllBytes());
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
            assertThat(process.exitValue()).as(Files.readString(dir.resolve("chromium.log"))).isZero();
            return out;
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }
}
