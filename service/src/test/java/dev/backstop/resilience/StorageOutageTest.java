package dev.backstop.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.S3ProxyServer;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A real S3 outage: S3Proxy stops answering for 30 s while a scheduled snapshot runs. Retries back
 * off with growing delays (logged and counted), the breaker opens, readiness fails for storage and
 * new snapshots fail fast; once S3 is back the breaker closes, the next snapshot completes, and
 * Backstop's threads and connections are back to where they were.
 */
class StorageOutageTest {
    private static final Pattern DELAY = Pattern.compile("event=retry attempt=(\\d+) delay_ms=(\\d+)");

    private final Path dir = TestApps.tempDir("backstop-outage");
    private final YamlApps apps = new YamlApps(dir);
    private S3ProxyServer s3;

    @AfterEach
    void stop() throws Exception {
        apps.close();
        if (s3 != null) {
            s3.close();
        }
    }

    private static JsonNode snapshot(DropwizardTestSupport<BackstopConfiguration> app, String id) {
        return Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
    }

    /** Triggers the scheduled snapshot job and returns the id of the snapshot it starts. */
    private static String triggerSnapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        int before = Http.get(YamlApps.api(app, "/snapshots?source=files"), TestTokens.READER).json().get("items").size();
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/snapshot.files/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() ->
                Http.get(YamlApps.api(app, "/snapshots?source=files"), TestTokens.READER).json().get("items").size() > before);
        return Http.get(YamlApps.api(app, "/snapshots?source=files"), TestTokens.READER).json().get("items").get(0).get("id").asText();
    }

    private static String finalStatus(DropwizardTestSupport<BackstopConfiguration> app, String id) {
        await().atMost(Duration.ofSeconds(60)).until(() -> !"RUNNING".equals(snapshot(app, id).get("status").asText()));
        return snapshot(app, id).get("status").asText();
    }

    private static String metrics(DropwizardTestSupport<BackstopConfiguration> app) {
        return Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
    }

    private static double metric(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    /** Threads Backstop owns: everything but S3Proxy's (it runs in this JVM and restarts its server). */
    private static long backstopThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> !t.getName().startsWith("qtp") && !t.getName().toLowerCase().contains("s3proxy")
                        && !t.getName().startsWith("Scheduler-") && !t.getName().startsWith("ForkJoinPool"))
                .count();
    }

    /** Established TCP connections from this JVM's host to S3Proxy's port. */
    private int connectionsTo(int port) throws Exception {
        int count = 0;
        for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path path = Path.of(file);
            if (!Files.exists(path)) {
                continue;
            }
            for (String line : Files.readAllLines(path).subList(1, Files.readAllLines(path).size())) {
                String[] f = line.trim().split("\\s+");
                int remotePort = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                if (remotePort == port && f[3].equals("01")) {
                    count++;
                }
            }
        }
        return count;
    }

    @Test
    void s3OutageRetriesOpensTheBreakerFailsReadinessAndRecoversWithoutLeaks() throws Exception {
        s3 = S3ProxyServer.start();
        s3.createBucket("outage");
        Files.createDirectories(dir.resolve("data"));
        byte[] random = new byte[12 << 20];
        new Random(3).nextBytes(random);
        Files.write(dir.resolve("data/blob.bin"), random); // three 5 MiB parts
        var app = apps.start("""
                storage:
                  targets:
                    - type: s3
                      name: s3
                      bucket: outage
                      endpoint: %2$s
                      pathStyleAccess: true
                      checksumMode: WHEN_REQUIRED
                      accessKeyId: %3$s
                      secretAccessKey: %4$s
                      partSize: 5MiB
                      concurrency: 2
                      apiCallTimeout: 10s
                resilience:
                  retry: {initialDelay: 250ms, maxDelay: 4s, jitter: 0.1, maxDuration: 12s}
                  breaker: {failureThreshold: 3, delay: 3s, successThreshold: 1}
                  timeout: 20s
                """.replace("%2$s", s3.endpoint().toString()).replace("%3$s", S3ProxyServer.ACCESS_KEY)
                .replace("%4$s", S3ProxyServer.SECRET_KEY), """
                  - {type: directory, name: files, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099"}
                """);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger guardLog = (Logger) LoggerFactory.getLogger(Guard.class);
        guardLog.setLevel(ch.qos.logback.classic.Level.INFO); // the test config logs WARN and up; close is INFO
        guardLog.addAppender(logs);
        int s3Port = s3.endpoint().getPort();

        assertThat(finalStatus(app, triggerSnapshot(app))).isEqualTo("COMPLETED");
        await().atMost(Duration.ofSeconds(5)).until(() -> Http.get(YamlApps.admin(app, "/health/ready"), null).status() == 200);
        // Idle part threads retire 5 s after the upload: the baseline is taken once they have.
        await().atMost(Duration.ofSeconds(60)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && t.getName().startsWith("s3-part-")));
        long baselineThreads = backstopThreads();

        s3.pause();
        long outageStarted = System.nanoTime();
        String during = triggerSnapshot(app);
        assertThat(finalStatus(app, during)).isEqualTo("FAILED");
        assertThat(snapshot(app, during).get("error").asText()).containsAnyOf("storage:s3", "s3://outage");

        List<long[]> delays = new ArrayList<>();
        for (ILoggingEvent event : new ArrayList<>(logs.list)) {
            Matcher m = DELAY.matcher(event.getFormattedMessage());
            if (m.find() && event.getFormattedMessage().contains("component=storage:s3")) {
                delays.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
            }
        }
        assertThat(delays).as("retries were logged").hasSizeGreaterThanOrEqualTo(3);
        assertThat(delays.get(2)[1]).as("delays grow: %s", delays.stream().map(d -> d[1]).toList()).isGreaterThan(delays.get(0)[1]);
        assertThat(logs.list).anyMatch(e -> e.getFormattedMessage().contains("policy=breaker event=open"));

        String scrape = metrics(app);
        assertThat(metric(scrape, "backstop_resilience_events_total{component=\"storage:s3\",event=\"retry\",policy=\"retry\"}"))
                .isGreaterThanOrEqualTo(3);
        assertThat(metric(scrape, "backstop_resilience_events_total{component=\"storage:s3\",event=\"open\",policy=\"breaker\"}"))
                .isGreaterThanOrEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> Http.get(YamlApps.admin(app, "/health/ready"), null).status() == 503);
        JsonNode ready = Http.get(YamlApps.admin(app, "/health/ready"), null).json();
        assertThat(ready.get("checks").get("storage:writable").get(0).get("status").asText()).isEqualTo("fail");

        // While the breaker is open, a new snapshot fails at once with the reason.
        await().atMost(Duration.ofSeconds(10)).until(() -> metric(metrics(app),
                "backstop_circuit_breaker_state{component=\"storage:s3\"}") == 2.0);
        double retriesBefore = metric(metrics(app),
                "backstop_resilience_events_total{component=\"storage:s3\",event=\"retry\",policy=\"retry\"}");
        String refused = triggerSnapshot(app);
        assertThat(finalStatus(app, refused)).isEqualTo("FAILED");
        assertThat(snapshot(app, refused).get("error").asText()).contains("circuit breaker open");
        // Fast, without a wall-clock bound: refused by the open breaker, with no retry spent on it.
        assertThat(metric(metrics(app), "backstop_resilience_events_total{component=\"storage:s3\",event=\"retry\",policy=\"retry\"}"))
                .as("fails fast: no retries").isEqualTo(retriesBefore);

        Thread.sleep(Math.max(0, Duration.ofSeconds(30).toMillis() - Duration.ofNanos(System.nanoTime() - outageStarted).toMillis()));
        s3.resume();
        await().atMost(Duration.ofSeconds(20)).until(() -> Http.get(YamlApps.admin(app, "/health/ready"), null).status() == 200);
        await().atMost(Duration.ofSeconds(5)).until(() -> metric(metrics(app),
                "backstop_circuit_breaker_state{component=\"storage:s3\"}") == 0.0);
        assertThat(logs.list).anyMatch(e -> e.getFormattedMessage().contains("policy=breaker event=close"));
        assertThat(finalStatus(app, triggerSnapshot(app))).as("the next snapshot completes").isEqualTo("COMPLETED");

        // A leak would grow with every retry (dozens); allow the odd JVM-managed thread.
        await().atMost(Duration.ofSeconds(20)).until(() -> backstopThreads() <= baselineThreads + 2);
        assertThat(connectionsTo(s3Port)).as("pooled connections stay within the client's limit").isLessThanOrEqualTo(8);
    }
}
