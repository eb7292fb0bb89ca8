package dev.backstop.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.resources.ProblemJsonTest;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Quartz scheduling through the running service, on fast crons (every second or two): scheduled
 * snapshots, the jobs API (list, trigger, pause, resume), retention runs, and schedules brought in
 * line with a changed configuration at restart.
 */
class SchedulingTest {
    private final Path dir = TestApps.tempDir("backstop-schedule");
    private final YamlApps apps = new YamlApps(dir);

    @AfterEach
    void stopApps() {
        apps.close();
    }

    private static String api(DropwizardTestSupport<BackstopConfiguration> app, String path) {
        return YamlApps.api(app, path);
    }

    private DropwizardTestSupport<BackstopConfiguration> start(String sources) throws Exception {
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/hello.txt"), "hello");
        return apps.start("", sources);
    }

    private JsonNode snapshots(DropwizardTestSupport<BackstopConfiguration> app, String query) {
        Http.Reply reply = Http.get(api(app, "/snapshots?limit=500&" + query), TestTokens.READER);
        assertThat(reply.status()).isEqualTo(200);
        return reply.json().get("items");
    }

    private JsonNode job(DropwizardTestSupport<BackstopConfiguration> app, String name) {
        Http.Reply reply = Http.get(api(app, "/jobs/" + name), TestTokens.READER);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        return reply.json();
    }

    @Test
    void cronTakesSnapshotsOnePerFireTimeAndTheJobsApiShowsThem() throws Exception {
        var app = start("""
                  - {type: directory, name: files, path: %1$s/data, schedule: "* * * * * ?"}
                """);
        await().atMost(Duration.ofSeconds(20)).until(() -> snapshots(app, "source=files&status=COMPLETED").size() >= 3);
        JsonNode rows = snapshots(app, "source=files");
        for (JsonNode row : rows) {
            assertThat(row.get("origin").asText()).isEqualTo("SCHEDULE");
            assertThat(row.get("requestedBy").asText()).isEqualTo("scheduler");
        }
        JsonNode view = job(app, "snapshot.files");
        assertThat(view.get("kind").asText()).isEqualTo("snapshot");
        assertThat(view.get("cron").asText()).isEqualTo("* * * * * ?");
        assertThat(view.get("misfire").asText()).isEqualTo("runOnce");
        assertThat(view.get("nextFireTime").asText()).isNotEmpty();
        assertThat(view.get("previousFireTime").asText()).isNotEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> job(app, "snapshot.files").has("lastRun"));
        assertThat(job(app, "snapshot.files").get("lastRun").get("outcome").asText()).isIn("SUCCEEDED", "REFUSED");

        // Pause: no new snapshot starts; resume: they do again.
        Http.Reply paused = Http.send("POST", api(app, "/jobs/snapshot.files/pause"), TestTokens.OPERATOR, null, null);
        assertThat(paused.status()).isEqualTo(200);
        assertThat(paused.json().get("state").asText()).isIn("PAUSED", "PAUSED_BLOCKED");
        Thread.sleep(1500); // a fire acquired just before the pause may still be starting its snapshot
        await().atMost(Duration.ofSeconds(10)).until(() -> snapshots(app, "source=files&status=RUNNING").isEmpty());
        int before = snapshots(app, "source=files").size();
        Thread.sleep(2500);
        assertThat(snapshots(app, "source=files").size()).as("no snapshot while paused").isEqualTo(before);
        // The admin task does the same without a token (the admin port is private).
        Http.Reply task = Http.send("POST", YamlApps.admin(app, "/tasks/job?name=snapshot.files&action=resume"), null, null, null);
        assertThat(task.status()).as(task.body()).isEqualTo(200);
        assertThat(task.body()).containsPattern("resume snapshot.files: state (NORMAL|BLOCKED)");
        Http.Reply resumed = Http.send("POST", api(app, "/jobs/snapshot.files/resume"), TestTokens.OPERATOR, null, null);
        assertThat(resumed.status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> snapshots(app, "source=files").size() > before);
    }

    @Test
    void triggerRunsAJobNowAndRolesAndNamesAreChecked() throws Exception {
        var app = start("""
                  - {type: directory, name: files, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099"}
                """);
        assertThat(snapshots(app, "source=files")).isEmpty();

        Http.Reply asReader = Http.send("POST", api(app, "/jobs/snapshot.files/trigger"), TestTokens.READER, null, null);
        ProblemJsonTest.assertProblem(asReader, 403, "forbidden");
        ProblemJsonTest.assertProblem(Http.send("POST", api(app, "/jobs/snapshot.nope/trigger"), TestTokens.OPERATOR, null, null),
                404, "not-found");
        ProblemJsonTest.assertProblem(Http.get(api(app, "/jobs/no-kind"), TestTokens.READER), 404, "not-found");

        Http.Reply triggered = Http.send("POST", api(app, "/jobs/snapshot.files/trigger"), TestTokens.OPERATOR, null, null);
        assertThat(triggered.status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(15)).until(() -> snapshots(app, "source=files&status=COMPLETED").size() == 1);
        JsonNode row = snapshots(app, "source=files").get(0);
        assertThat(row.get("origin").asText()).isEqualTo("SCHEDULE");
        assertThat(row.get("requestedBy").asText()).isEqualTo("test-operator");
        await().atMost(Duration.ofSeconds(5)).until(() -> job(app, "snapshot.files").has("lastRun"));
        JsonNode last = job(app, "snapshot.files").get("lastRun");
        assertThat(last.get("outcome").asText()).isEqualTo("SUCCEEDED");
        assertThat(last.get("actor").asText()).isEqualTo("test-operator");
        assertThat(last.get("detail").asText()).contains(row.get("id").asText());

        JsonNode list = Http.get(api(app, "/jobs"), TestTokens.READER).json();
        assertThat(list).extracting(n -> n.get("name").asText()).as("the source's job, and the target's weekly repository check")
                .containsExactly("snapshot.files", "check.local");
    }

    @Test
    void retentionJobPrunesWhatThePolicyDoesNotKeepAndThePreviewSaysWhy() throws Exception {
        var app = start("""
                  - type: directory
                    name: files
                    path: %1$s/data
                    schedule: "0 0 0 1 1 ? 2099"
                    retention: {keepLast: 2, schedule: "0 0 0 1 1 ? 2099"}
                """);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Http.Reply taken = Http.send("POST", api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                    "{\"source\":\"files\"}");
            assertThat(taken.status()).isEqualTo(202);
            String id = taken.json().get("id").asText();
            ids.add(id);
            await().atMost(Duration.ofSeconds(10)).until(() -> "COMPLETED".equals(
                    Http.get(api(app, "/snapshots/" + id), TestTokens.READER).json().get("status").asText()));
        }
        JsonNode preview = Http.get(api(app, "/retention/files/preview"), TestTokens.READER).json();
        assertThat(preview.get("keep")).extracting(n -> n.get("id").asText()).containsExactly(ids.get(3), ids.get(2));
        assertThat(preview.get("keep").get(0).get("reasons").get(0).asText()).isEqualTo("keepLast");
        assertThat(preview.get("delete")).extracting(n -> n.get("id").asText()).containsExactly(ids.get(1), ids.get(0));
        assertThat(preview.get("delete").get(0).get("reasons").get(0).asText()).as("never null").isEqualTo("no rule keeps it");
        assertThat(preview.get("freedBytes").asLong()).as("stored bytes deleting them frees (chunks the kept ones share stay)")
                .isNotNegative();
        ProblemJsonTest.assertProblem(Http.get(api(app, "/retention/nope/preview"), TestTokens.READER), 404, "not-found");

        Path backups = dir.resolve("backups");
        String oldKey = Http.get(api(app, "/snapshots/" + ids.get(0)), TestTokens.READER).json().get("dataKey").asText();
        assertThat(backups.resolve(oldKey)).exists();

        assertThat(Http.send("POST", api(app, "/jobs/retention.files/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> snapshots(app, "source=files&status=PRUNED").size() == 2);
        assertThat(snapshots(app, "source=files&status=COMPLETED")).extracting(n -> n.get("id").asText())
                .containsExactly(ids.get(3), ids.get(2));
        assertThat(backups.resolve(oldKey)).as("pruned objects are gone").doesNotExist();
        await().atMost(Duration.ofSeconds(5)).until(() -> job(app, "retention.files").has("lastRun"));
        assertThat(job(app, "retention.files").get("lastRun").get("detail").asText()).contains("kept 2, pruned 2");

        // Running it again deletes nothing more.
        assertThat(Http.send("POST", api(app, "/jobs/retention.files/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> job(app, "retention.files").get("lastRun").get("detail").asText()
                .contains("kept 2, pruned 0"));
        assertThat(snapshots(app, "source=files&status=COMPLETED")).hasSize(2);
    }

    @Test
    void restartWithChangedConfigurationAddsChangesAndRemovesJobs() throws Exception {
        var first = start("""
                  - {type: directory, name: files, path: %1$s/data, schedule: "0 0 1 * * ?"}
                  - {type: directory, name: old, path: %1$s/data, schedule: "0 0 2 * * ?"}
                """);
        assertThat(Http.get(api(first, "/jobs"), TestTokens.READER).json()).extracting(n -> n.get("name").asText())
                .containsExactlyInAnyOrder("snapshot.files", "snapshot.old", "check.local");
        Http.send("POST", api(first, "/jobs/snapshot.files/pause"), TestTokens.OPERATOR, null, null);
        apps.stop(first);

        var second = start("""
                  - {type: directory, name: files, path: %1$s/data, schedule: "0 0 3 * * ?", misfire: skip}
                  - {type: directory, name: added, path: %1$s/data, schedule: "0 0 4 * * ?"}
                """);
        JsonNode jobs = Http.get(api(second, "/jobs"), TestTokens.READER).json();
        Set<String> names = new HashSet<>();
        jobs.forEach(n -> names.add(n.get("name").asText()));
        assertThat(names).containsExactlyInAnyOrder("snapshot.files", "snapshot.added", "check.local");
        JsonNode files = job(second, "snapshot.files");
        assertThat(files.get("cron").asText()).isEqualTo("0 0 3 * * ?");
        assertThat(files.get("misfire").asText()).isEqualTo("skip");
        assertThat(files.get("nextFireTime").asText()).contains("T03:00:00");
        try (var connection = apps.catalog();
                var query = connection.createStatement().executeQuery(
                        "SELECT COUNT(*) FROM QRTZ_JOB_DETAILS WHERE JOB_NAME = 'old'")) {
            query.next();
            assertThat(query.getInt(1)).as("the removed source's job is gone from the job store").isZero();
        }
    }

    /** A scheduled snapshot of about {@code megabytes} of incompressible data at zstd level 19 (slow on purpose). */
    private DropwizardTestSupport<BackstopConfiguration> slowSnapshotApp(int megabytes, String grace) throws Exception {
        Files.createDirectories(dir.resolve("slow"));
        byte[] random = new byte[megabytes << 20];
        new java.util.Random(1).nextBytes(random);
        Files.write(dir.resolve("slow/random.bin"), random);
        return apps.start("scheduler: {shutdownGracePeriod: " + grace + "}\ncompression: {level: 19}\n", """
                  - {type: directory, name: slow, path: %1$s/slow, schedule: "0 0 0 1 1 ? 2099"}
                """);
    }

    private String runningSnapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        Http.send("POST", api(app, "/jobs/snapshot.slow/trigger"), TestTokens.OPERATOR, null, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> snapshots(app, "source=slow&status=RUNNING").size() == 1);
        return snapshots(app, "source=slow&status=RUNNING").get(0).get("id").asText();
    }

    private String statusAfterStop(String id) throws Exception {
        try (var c = apps.catalog();
                var q = c.prepareStatement("SELECT status || ': ' || COALESCE(error, '') FROM snapshots WHERE id = ?")) {
            q.setString(1, id);
            var rows = q.executeQuery();
            rows.next();
            return rows.getString(1);
        }
    }

    @Test
    void shutdownLetsARunningSnapshotFinishWithinTheGracePeriod() throws Exception {
        var app = slowSnapshotApp(2, "60s");
        String id = runningSnapshot(app);
        apps.stop(app);
        assertThat(statusAfterStop(id)).isEqualTo("COMPLETED: ");
    }

    @Test
    void aSnapshotStartedThroughTheApiAlsoGetsTheGracePeriod() throws Exception {
        var app = slowSnapshotApp(2, "60s");
        Http.Reply started = Http.send("POST", api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"slow\"}");
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        apps.stop(app);
        assertThat(statusAfterStop(started.json().get("id").asText())).isEqualTo("COMPLETED: ");
    }

    @Test
    void shutdownAbortsASnapshotThatOutlastsTheGracePeriodLeavingNothingBehind() throws Exception {
        // A source that never ends by itself (the test-only `lines` type, endless), so the snapshot
        // outlasts the grace period on any machine.
        Files.writeString(dir.resolve("endless.txt"), "a line\n");
        var app = apps.start("scheduler: {shutdownGracePeriod: 1s}\n", """
                  - {type: lines, name: slow, path: %1$s/endless.txt, endless: true, schedule: "0 0 0 1 1 ? 2099"}
                """);
        String id = runningSnapshot(app);
        apps.stop(app);
        // Read as soon as stop returns: the aborted job itself ended the row (a job the shutdown had
        // to leave behind would still be RUNNING here).
        assertThat(statusAfterStop(id)).startsWith("FAILED: aborted: the service shut down");
        try (var files = Files.walk(dir.resolve("backups"))) {
            assertThat(files.filter(Files::isRegularFile)).as("no object, final or temporary, is left").isEmpty();
        }
    }

    /** Moves every trigger's next fire time ten minutes into the past, as if the service had been down then. */
    private void missFireTimes() throws Exception {
        try (var c = apps.catalog();
                var s = c.createStatement()) {
            s.executeUpdate("UPDATE QRTZ_TRIGGERS SET NEXT_FIRE_TIME = " + (System.currentTimeMillis() - 600_000));
        }
    }

    @Test
    void aMissedFireRunsOnceAtStartWithRunOnceAndNotAtAllWithSkip() throws Exception {
        var first = start("""
                  - {type: directory, name: catch-up, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099"}
                  - {type: directory, name: skipped, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099", misfire: skip}
                """);
        apps.stop(first);
        missFireTimes();

        var second = start("""
                  - {type: directory, name: catch-up, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099"}
                  - {type: directory, name: skipped, path: %1$s/data, schedule: "0 0 0 1 1 ? 2099", misfire: skip}
                """);
        await().atMost(Duration.ofSeconds(15)).until(() -> snapshots(second, "source=catch-up&status=COMPLETED").size() == 1);
        JsonNode caughtUp = snapshots(second, "source=catch-up").get(0);
        assertThat(caughtUp.get("origin").asText()).isEqualTo("SCHEDULE");
        assertThat(job(second, "snapshot.catch-up").get("nextFireTime").asText()).as("then the schedule resumes")
                .startsWith("2099-01-01");
        Thread.sleep(2000);
        assertThat(snapshots(second, "source=catch-up")).as("once, not once per missed fire").hasSize(1);
        assertThat(snapshots(second, "source=skipped")).as("skip waits for the next fire time").isEmpty();
        assertThat(job(second, "snapshot.skipped").get("nextFireTime").asText()).startsWith("2099-01-01");
        String metrics = Http.get(YamlApps.admin(second, "/metrics/prometheus"), null).body();
        assertThat(metrics).contains("backstop_job_misfires_total{job=\"snapshot.catch-up\"} 1.0")
                .contains("backstop_job_misfires_total{job=\"snapshot.skipped\"} 1.0");
    }
}
