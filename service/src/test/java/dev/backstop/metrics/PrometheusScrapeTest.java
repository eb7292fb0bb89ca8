package dev.backstop.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A live scrape of /metrics/prometheus passes promtool's linter (Debian package `prometheus`). */
@ExtendWith(DropwizardExtensionsSupport.class)
class PrometheusScrapeTest {
    static final DropwizardAppExtension<BackstopConfiguration> APP = TestApps.withH2();

    @Test
    void liveScrapePassesPromtoolWithoutWarnings() throws Exception {
        // Traffic first, so request timers, meters and error counters all have samples.
        Http.get("http://127.0.0.1:" + APP.getLocalPort() + "/api/v1/info", TestTokens.READER);
        Http.get("http://127.0.0.1:" + APP.getLocalPort() + "/api/v1/info", null);
        Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/health/ready", null);

        Http.Reply scrape = Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/metrics/prometheus", null);
        assertThat(scrape.status()).isEqualTo(200);
        assertThat(scrape.contentType()).startsWith("text/plain");
        assertThat(scrape.body())
                .contains("# TYPE backstop_health_status gauge")
                .contains("backstop_health_status{endpoint=\"ready\"} 0.0")
                .contains("backstop_health_check_status{check=\"catalog:responseTime\"}")
                .contains("backstop_health_probe_duration_seconds{probe=\"catalog\",quantile=\"0.5\"}")
                .contains("jvm_memory_used_bytes")
                .contains("io_dropwizard_jetty_mutable_servlet_context_handler_4xx_responses_total");

        ProcessResult lint = promtool(scrape.body());
        assertThat(lint.exitCode()).as(lint.output()).isZero();
        assertThat(lint.output()).as("promtool warnings").isBlank();
    }

    @Test
    void diskGaugesHoldAReadingFromTheFirstScrape() {
        String scrape = Http.get("http://127.0.0.1:" + APP.getAdminPort() + "/metrics/prometheus", null).body();
        assertThat(scrape.lines().filter(l -> l.startsWith("backstop_disk_free_bytes{") || l.startsWith("backstop_disk_free_percent{")))
                .isNotEmpty().noneMatch(l -> l.endsWith("NaN"));
    }

    @Test
    void promtoolRejectsWhatItShould() throws Exception {
        // The lint is only worth something if it can fail: a counter without _total must be reported.
        ProcessResult lint = promtool("# HELP bad_counter x\n# TYPE bad_counter counter\nbad_counter 1\n");
        assertThat(lint.output()).contains("counter metrics should have \"_total\" suffix");
    }

    record ProcessResult(int exitCode, String output) {}

    private static ProcessResult promtool(String exposition) throws IOException, InterruptedException {
        Path out = Files.createTempFile("promtool", ".out");
        Process process;
        try {
            process = new ProcessBuilder("promtool", "check", "metrics")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        } catch (IOException e) {
            throw new AssertionError("promtool not found: install the Debian package 'prometheus' (.ci/run does)", e);
        }
        try (OutputStream stdin = process.getOutputStream()) {
            stdin.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String output = Files.readString(out);
        Files.deleteIfExists(out);
        return new ProcessResult(process.exitValue(), output);
    }
}
