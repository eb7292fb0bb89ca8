package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.resources.ProblemJsonTest;
import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.support.ClusterApps;
import dev.backstop.support.Http;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Point-in-time restores by REST call, against a private PostgreSQL 15 cluster whose WAL the
 * service streams into a filesystem target: a real base backup, real pg_receivewal, a real server
 * replaying to the point.
 */
class PointInTimeRestoreTest {

    private ClusterApps fixture;
    private TestCluster cluster;
    private Path dir;
    private YamlApps apps;

    @BeforeEach
    void start() throws Exception {
        fixture = ClusterApps.start("backstop-pitr", "track_commit_timestamp = on");
        cluster = fixture.cluster;
        dir = fixture.dir;
        apps = fixture.apps;
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    private DropwizardTestSupport<BackstopConfiguration> app() throws Exception {
        var app = fixture.startApp("partialUploadEvery: 1s");
        awaitCovered(Instant.now());
        return app;
    }

    private void awaitCovered(Instant instant) {
        fixture.awaitCovered(instant);
    }

    private static String snapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        return ClusterApps.snapshot(app);
    }

    private Http.Reply restore(DropwizardTestSupport<BackstopConfiguration> app, String pointInTime, Path data, int port) {
        return Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", """
                {"source": "main", "pointInTime": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": %d, "start": true}}
                """.formatted(pointInTime, data, port));
    }

    /** The {@code recoveredTo} of the last restore {@link #awaitRestored} awaited. */
    private Instant lastRecoveredTo;

    private PgServer awaitRestored(Http.Reply accepted, Path data, int port) {
        JsonNode done = ClusterApps.awaitRestore(accepted);
        PgServer server = fixture.restored(data, port);
        assertThat(done.get("phase").asText()).as(done.toString()).isEqualTo("COMPLETED");
        assertThat(done.get("detail").asText()).contains("recoveredTo");
        // The last phase before COMPLETED was RECOVERING: its progress is the WAL replayed of the WAL planned, all of it.
        java.util.regex.Matcher files = java.util.regex.Pattern.compile("\\((\\d+) files\\)").matcher(done.get("detail").asText());
        assertThat(files.find()).as(done.toString()).isTrue();
        long planned = Long.parseLong(files.group(1)) * (16L << 20);
        assertThat(done.get("bytesTotal").asLong()).as(done.toString()).isEqualTo(planned);
        assertThat(done.get("bytesDone").asLong()).isEqualTo(planned);
        lastRecoveredTo = done.hasNonNull("recoveredTo") ? Instant.parse(done.get("recoveredTo").asText()) : null;
        return server;
    }

    /** When the row {@code id} of {@code orders} was committed on the source (track_commit_timestamp). */
    private static Instant commitTime(TestCluster cluster, int id) throws Exception {
        try (var c = cluster.connect(); var s = c.createStatement();
                var r = s.executeQuery("SELECT pg_xact_commit_timestamp(xmin) FROM orders WHERE id = " + id)) {
            r.next();
            return r.getTimestamp(1).toInstant();
        }
    }


    /** The newest WAL segment stored whole in the filesystem target. */
    private Path newestStoredSegment() throws Exception {
        try (var files = Files.list(dir.resolve("backups/main/wal/00000001"))) {
            return files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}\\.zst")).max(Path::compareTo).orElseThrow();
        }
    }

    /** Row 1, a base backup, row 2, the point returned, row 3. */
    private Instant ordersOneTwoPointThree(DropwizardTestSupport<BackstopConfiguration> app) throws Exception {
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (2)");
        Instant between = cluster.now();
        cluster.sql("INSERT INTO orders VALUES (3)");
        return between;
    }

    @Test
    void aPointBetweenTwoTransactionsGivesExactlyTheRowsCommittedBeforeItAndLatestGivesAll() throws Exception {
        var app = app();
        Instant between = ordersOneTwoPointThree(app);
        cluster.sql("SELECT pg_switch_wal()"); // the point's commits now span a full segment and the partial one
        cluster.sql("INSERT INTO orders VALUES (4)");
        awaitCovered(Instant.now());

        Http.Reply dry = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", """
                {"source": "main", "pointInTime": "latest", "mode": "new", "dryRun": true,
                 "target": {"dataDirectory": "%s/dry", "port": 5999}}
                """.formatted(dir));
        assertThat(dry.status()).as(dry.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(dry.header("Location"), TestTokens.READER).json().get("phase")
                .asText().equals("COMPLETED"));
        assertThat(Http.get(dry.header("Location"), TestTokens.READER).json().get("detail").asText())
                .contains("would replay WAL 00000001").contains("to its end (latest)").contains("nothing changed");
        assertThat(dir.resolve("dry")).doesNotExist();

        Path first = dir.resolve("at-point");
        int port = TestCluster.freePort();
        String point = OffsetDateTime.ofInstant(between, java.time.ZoneOffset.ofHours(1)).toString();
        PgServer atPoint = awaitRestored(restore(app, point, first, port), first, port);
        assertThat(lastRecoveredTo).as("the restore row's recoveredTo: the commit of row 2").isNotNull().isBefore(between)
                .isEqualTo(commitTime(cluster, 2));
        assertThat(TestCluster.count(atPoint, "SELECT count(*) FROM orders")).isEqualTo(2);
        assertThat(TestCluster.count(atPoint, "SELECT max(id) FROM orders")).isEqualTo(2);
        assertThat(TestCluster.count(atPoint, "SELECT count(*) FROM pg_settings WHERE name = 'archive_mode' AND setting = 'off'"))
                .isEqualTo(1);
        assertThat(Files.readString(first.resolve("postgresql.auto.conf"))).doesNotContain("restore_command");
        assertThat(first.resolve("backstop_restore")).doesNotExist();

        Path second = dir.resolve("latest");
        int latestPort = TestCluster.freePort();
        PgServer latest = awaitRestored(restore(app, "latest", second, latestPort), second, latestPort);
        assertThat(TestCluster.count(latest, "SELECT count(*) FROM orders")).isEqualTo(4);

        JsonNode window = Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
        assertThat(Instant.parse(window.get("recoverableFrom").asText())).isBefore(between);
        assertThat(Instant.parse(window.get("recoverableUntil").asText())).isAfter(between);
        assertThat(window.get("archive").get("receiver").asText()).isEqualTo("streaming");
        assertThat(window.get("archive").get("slotState").asText()).isEqualTo("physical");
        String scrape = Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
        assertThat(scrape).contains("backstop_wal_receiver_up{source=\"main\"} 1.0")
                .contains("backstop_pitr_recoverable_until_timestamp_seconds{source=\"main\"}")
                .contains("backstop_wal_archive_lag_bytes{source=\"main\"}")
                .contains("backstop_replication_slot_retained_bytes{source=\"main\"}");
        ProblemJsonTest.assertProblem(Http.get(YamlApps.api(app, "/sources/nope/pitr"), TestTokens.READER), 404, "not-found");
        await().atMost(Duration.ofSeconds(30)).until(() -> checkStatus(app, "source:recoverableUntilAge").equals("pass"));
        assertThat(checkStatus(app, "source:walReceiver")).isEqualTo("pass");
        assertThat(checkStatus(app, "source:walArchiveLag")).isEqualTo("pass");
    }

    /**
     * With the service stopped, {@code restore --source --point-in-time} restores from what is in
     * storage (base backups and WAL), exactly as the API does; bad arguments get one line and a
     * non-zero exit before anything is touched.
     */
    @Test
    void theCommandLineRestoresAPointInTimeWithTheServiceStopped() throws Exception {
        var app = app();
        Instant between = ordersOneTwoPointThree(app);
        awaitCovered(Instant.now());
        Path config = apps.configOf(app);
        apps.stop(app); // the service is down: the command works from the catalog and storage alone

        Path data = dir.resolve("cli-restored");
        int port = TestCluster.freePort();
        Cli run = cli("restore", config.toString(), "--source", "main", "--point-in-time", between.toString(),
                "--target", "dataDirectory=" + data, "port=" + port, "start=true");
        assertThat(run.failure()).as(run.err()).isEmpty();
        assertThat(run.out()).contains("COMPLETED").contains("recovered to");
        PgServer restored = fixture.restored(data, port);
        assertThat(TestCluster.count(restored, "SELECT max(id) FROM orders")).isEqualTo(2);

        Cli noPoint = cli("restore", config.toString(), "--source", "main", "--target", "dataDirectory=" + dir.resolve("x"));
        assertThat(noPoint.failure()).isPresent();
        assertThat(noPoint.err().strip()).isEqualTo("backstop restore: --source needs --point-in-time (an instant such as "
                + "2026-12-05T09:30:00Z, or latest)");
        Cli both = cli("restore", config.toString(), "--snapshot", "X", "--source", "main", "--point-in-time", "latest",
                "--target", "dataDirectory=" + dir.resolve("x"));
        assertThat(both.err()).contains("give either --snapshot ID or --source NAME --point-in-time T|latest");
        assertThat(dir.resolve("x")).doesNotExist();
    }

    private record Cli(java.util.Optional<Throwable> failure, String out, String err) {}

    /** A CLI command in this process, as {@code java -jar backstop.jar ...} runs it. */
    private static Cli cli(String... arguments) throws Exception {
        dev.backstop.BackstopApplication application = new dev.backstop.BackstopApplication();
        io.dropwizard.core.setup.Bootstrap<BackstopConfiguration> bootstrap = new io.dropwizard.core.setup.Bootstrap<>(application);
        application.initialize(bootstrap);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            java.util.Optional<Throwable> failure = new io.dropwizard.core.cli.Cli(new io.dropwizard.util.JarLocation(
                    PointInTimeRestoreTest.class), bootstrap, new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                    new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8)).run(arguments);
            return new Cli(failure, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString(java.nio.charset.StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
        }
    }

    /** The status of one entry of {@code /health/detailed}. */
    private static String checkStatus(DropwizardTestSupport<BackstopConfiguration> app, String check) {
        JsonNode entry = Http.get(YamlApps.admin(app, "/health/detailed"), null).json().get("checks").path(check);
        return entry.isMissingNode() ? "missing" : entry.get(0).get("status").asText();
    }

    /**
     * A commit record that begins in one segment and ends in the next (here: a transaction with
     * 10,000 subtransactions, a commit record of about 40 kB, placed across the boundary with a
     * non-transactional WAL message as padding) is read from both segments: recovery ends on it,
     * and the restore's check of the point reached agrees.
     */
    @Test
    void aCommitRecordAcrossASegmentBoundaryIsThePointReached() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        snapshot(app);
        long segment = 16L << 20;
        try (var c = cluster.connect(); var s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("DO $$ BEGIN FOR i IN 2..10001 LOOP BEGIN INSERT INTO orders VALUES (i); "
                    + "EXCEPTION WHEN unique_violation THEN RAISE; END; END LOOP; END $$");
            // Padding, in steps (a long message also takes a 24-byte header per 8 kB page): the commit record then
            // starts about 16 kB before the next boundary.
            if (segment - insertPosition(s) % segment < 40_000) {
                pad(s, segment - insertPosition(s) % segment + 1000); // too close: into the next segment first
            }
            long toBoundary = segment - insertPosition(s) % segment;
            if (toBoundary > 100_000) {
                pad(s, (toBoundary - 100_000) * 99 / 100);
            }
            toBoundary = segment - insertPosition(s) % segment;
            pad(s, toBoundary - 16_000 - toBoundary / 8192 * 24 - 100);
            long before = insertPosition(s);
            c.commit();
            long after = insertPosition(s);
            c.commit();
            assertThat(after / segment).as("the commit record (from %X to %X) crosses a segment boundary", before, after)
                    .isGreaterThan(before / segment);
        }
        Instant between = cluster.now();
        cluster.sql("INSERT INTO orders VALUES (20000)");
        awaitCovered(Instant.now());

        Path data = dir.resolve("across");
        int port = TestCluster.freePort();
        PgServer server = awaitRestored(restore(app, between.toString(), data, port), data, port);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(10001);
        assertThat(lastRecoveredTo).isEqualTo(commitTime(cluster, 2));
    }

    /** A non-transactional WAL message of about {@code bytes}: WAL written at once, no xid. */
    private static void pad(java.sql.Statement s, long bytes) throws Exception {
        s.execute("SELECT pg_logical_emit_message(false, 'backstop-test', repeat('x', " + Math.max(1, bytes) + "))");
    }

    private static long insertPosition(java.sql.Statement s) throws Exception {
        try (var r = s.executeQuery("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")) {
            r.next();
            return r.getLong(1);
        }
    }

    @Test
    void latestAfterTheSourceCrashedHasEveryRowTheArchiveHadReached() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        snapshot(app);
        cluster.sql("INSERT INTO orders SELECT generate_series(2, 500)");
        Instant committed = Instant.now();
        awaitCovered(committed); // the partial segment holding the rows is stored
        cluster.kill(); // pg_ctl stop -m immediate: no shutdown checkpoint, no segment switch
        await().atMost(Duration.ofSeconds(30)).until(() -> checkStatus(app, "source:walReceiver").equals("warn")); // restarting
        Path data = dir.resolve("after-crash");
        int port = TestCluster.freePort();
        PgServer server = awaitRestored(restore(app, "latest", data, port), data, port);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(500);
    }

    @Test
    void aCorruptStoredSegmentFailsTheRestoreAndLeavesNoDataDirectory() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)");
        snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (1)", "SELECT pg_switch_wal()", "INSERT INTO orders VALUES (2)");
        awaitCovered(Instant.now());
        Path newest = newestStoredSegment();
        Files.write(newest, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}); // no longer a zstd frame

        Path data = dir.resolve("from-corrupt");
        Http.Reply accepted = restore(app, "latest", data, TestCluster.freePort());
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(180)).until(() -> Http.get(accepted.header("Location"), TestTokens.READER).json()
                .get("phase").asText().equals("FAILED"));
        assertThat(Http.get(accepted.header("Location"), TestTokens.READER).json().get("error").asText())
                .contains("cannot fetch WAL from storage").contains(newest.getFileName().toString());
        assertThat(data).doesNotExist();
    }

    /**
     * A restore cancelled while the server recovers: the stored segment recovery waits for is a FIFO
     * no one writes (a storage read that hangs), so the restore stays RECOVERING, on the status page
     * too, until it is cancelled; then the server is stopped and nothing is left.
     */
    @Test
    void aRestoreCancelledWhileRecoveringStopsTheServerAndLeavesNoDataDirectory() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)");
        snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (1)", "SELECT pg_switch_wal()", "INSERT INTO orders VALUES (2)");
        awaitCovered(Instant.now());
        Path newest = newestStoredSegment();
        Files.delete(newest);
        dev.backstop.support.Shell.run(dir, "mkfifo '" + newest + "'");
        try {
            Path data = dir.resolve("cancelled-while-recovering");
            int port = TestCluster.freePort();
            Http.Reply accepted = restore(app, "latest", data, port);
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(180)).until(() -> Http.get(accepted.header("Location"), TestTokens.READER).json()
                    .get("phase").asText().equals("RECOVERING"));
            JsonNode recovering = Http.get(accepted.header("Location"), TestTokens.READER).json();
            assertThat(recovering.get("bytesTotal").asLong()).as(recovering.toString()).isPositive();
            assertThat(Http.get(YamlApps.admin(app, "/"), null).body()).contains("RECOVERING").contains(" of WAL replayed");

            Http.Reply cancel = Http.send("POST", accepted.header("Location") + "/cancel", TestTokens.OPERATOR, null, null);
            assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(120)).until(() -> Http.get(accepted.header("Location"), TestTokens.READER).json()
                    .get("phase").asText().equals("CANCELLED"));
            assertThat(data).doesNotExist();
            assertThat(dir.resolve(".cancelled-while-recovering.restore-" + accepted.json().get("id").asText())).doesNotExist();
            try (java.net.Socket socket = new java.net.Socket()) {
                assertThatThrownBy(() -> socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 2_000))
                        .as("the recovering server was stopped").isInstanceOf(java.io.IOException.class);
            }
        } finally {
            // Let the read that hangs end (it then fails to decode), so no thread waits on the FIFO after the test.
            dev.backstop.support.Shell.run(dir, "timeout 10 sh -c \": > '" + newest + "'\" || true");
        }
    }

    @Test
    void aKilledReceiverIsRestartedAndTheChainHasNoGap() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        snapshot(app);
        dev.backstop.support.Shell.run(dir, "pkill -f 'pg_receivewal.*--port=" + cluster.port() + " '");
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER)
                .json().get("archive").get("lastError").asText().contains("pg_receivewal exited"));
        cluster.sql("INSERT INTO orders VALUES (2)", "SELECT pg_switch_wal()", "INSERT INTO orders VALUES (3)");
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER)
                .json().get("archive").get("receiver").asText().equals("streaming"));
        awaitCovered(Instant.now());
        Path data = dir.resolve("after-restart");
        int port = TestCluster.freePort();
        PgServer server = awaitRestored(restore(app, "latest", data, port), data, port);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(3);
    }

    /**
     * While the service is away a DBA drops its slot and the server recycles WAL the archive had not
     * reached: the restarted receiver cannot continue, starts again at the server's position, the
     * lost stretch is recorded as a gap, a base backup follows at once, and the window starts after it.
     */
    @Test
    void aSlotLostOnPurposeIsAGapABaseBackupFollowsAndTheWindowStartsAgainAfterIt() throws Exception {
        var first = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        snapshot(first);
        cluster.sql("INSERT INTO orders VALUES (2)");
        Instant beforeTheGap = cluster.now();
        awaitCovered(Instant.now());
        apps.stop(first);
        String reached = walFile("pg_walfile_name(pg_current_wal_lsn())");
        cluster.sql("SELECT pg_drop_replication_slot('backstop_main')", "INSERT INTO orders VALUES (3)");
        Instant lost = cluster.now(); // row 3's WAL never reaches the archive
        for (int i = 0; i < 10 && walOnServer(reached); i++) {
            cluster.sql("SELECT pg_switch_wal()", "CHECKPOINT");
        }
        assertThat(walOnServer(reached)).as("the server recycled " + reached).isFalse();

        var second = app();
        await().atMost(Duration.ofSeconds(120)).until(() -> Http.get(YamlApps.api(second, "/snapshots?source=main&status=COMPLETED"),
                TestTokens.READER).json().get("items").findValuesAsText("origin").contains("LOG_GAP"));
        JsonNode window = Http.get(YamlApps.api(second, "/sources/main/pitr"), TestTokens.READER).json();
        JsonNode gaps = window.get("archive").get("gaps");
        assertThat(gaps).as(window.toString()).hasSize(1);
        assertThat(gaps.get(0).get("from").asText()).isLessThanOrEqualTo(reached);
        assertThat(Instant.parse(window.get("recoverableFrom").asText())).isAfter(lost);
        assertThat(Http.get(YamlApps.admin(second, "/metrics/prometheus"), null).body()).contains("backstop_wal_gaps_total{source=\"main\"} 1.0");
        // A gap is a warning in /health/detailed until a drill proves a point after it (none runs here).
        await().atMost(Duration.ofSeconds(30)).until(() -> checkStatus(second, "source:walGap").equals("warn"));
        assertThat(Http.get(YamlApps.admin(second, "/health/detailed"), null).json().get("checks").get("source:walGap").get(0)
                .get("output").asText()).contains("was lost at").contains("no drill has proven a point after it");

        Http.Reply behindTheGap = restore(second, OffsetDateTime.ofInstant(lost, java.time.ZoneOffset.UTC).toString(),
                dir.resolve("behind-gap"), TestCluster.freePort());
        ProblemJsonTest.assertProblem(behindTheGap, 422, "validation-failed");
        assertThat(behindTheGap.body()).contains("gap");
        assertThat(dir.resolve("behind-gap")).doesNotExist();

        // A point before the gap still restores from the earlier base backup: the chain ends with the
        // segment that was being written when it broke, stored as far as it was received (issue 22,
        // accepted and then FAILED "... is missing before ..." until the planner stopped the chain there).
        Path early = dir.resolve("before-gap");
        int earlyPort = TestCluster.freePort();
        PgServer beforeGap = awaitRestored(restore(second, OffsetDateTime.ofInstant(beforeTheGap, java.time.ZoneOffset.UTC).toString(),
                early, earlyPort), early, earlyPort);
        assertThat(TestCluster.count(beforeGap, "SELECT count(*) FROM orders")).isEqualTo(2);
        beforeGap.stop("fast");

        cluster.sql("INSERT INTO orders VALUES (4)");
        awaitCovered(Instant.now());
        JsonNode reaching = Http.get(YamlApps.api(second, "/sources/main/pitr"), TestTokens.READER).json();
        JsonNode ranges = reaching.get("recoverableRanges");
        assertThat(ranges).as("the range before the gap is listed too: " + reaching).hasSize(2);
        assertThat(Instant.parse(ranges.get(0).get("until").asText())).isAfter(beforeTheGap).isBefore(lost);
        assertThat(ranges.get(1).get("from").asText()).isEqualTo(reaching.get("recoverableFrom").asText());
        assertThat(ranges.get(1).get("until").asText()).isEqualTo(reaching.get("recoverableUntil").asText());
        Path data = dir.resolve("after-gap");
        int port = TestCluster.freePort();
        PgServer server = awaitRestored(restore(second, "latest", data, port), data, port);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(4); // row 3 through the new base backup
    }

    /**
     * Once the newer of two base backups is older than pitrWindow it is the oldest one the window
     * needs: retention deletes exactly the WAL before its start (the preview lists it first), the
     * window starts at its end, and a point before it is refused.
     */
    @Test
    void retentionKeepsExactlyTheWalTheWindowNeeds() throws Exception {
        var app = fixture.startApp("partialUploadEvery: 1s, pitrWindow: 1m, retention: {keepLast: 5, schedule: \"0 0 0 1 1 ? 2099\"}");
        awaitCovered(Instant.now());
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (2)", "SELECT pg_switch_wal()", "INSERT INTO orders VALUES (3)");
        Instant betweenBackups = cluster.now();
        String second = snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (4)", "SELECT pg_switch_wal()", "INSERT INTO orders VALUES (5)");
        awaitCovered(Instant.now());
        String keepFrom;
        try (var marks = Files.list(dir.resolve("backups/main/wal/basebackups"))) {
            keepFrom = marks.map(p -> p.getFileName().toString().substring(0, 24)).max(String::compareTo).orElseThrow();
        }
        Path segments = dir.resolve("backups/main/wal/00000001");
        assertThat(storedSegments(segments)).anyMatch(seg -> seg.compareTo(keepFrom) < 0);

        await().atMost(Duration.ofSeconds(150)).until(() -> {
            JsonNode log = Http.get(YamlApps.api(app, "/retention/main/preview"), TestTokens.READER).json().path("deleteLog");
            return log.size() == 1 && log.get(0).get("reason").asText().contains(second);
        });
        JsonNode range = Http.get(YamlApps.api(app, "/retention/main/preview"), TestTokens.READER).json().get("deleteLog").get(0);
        assertThat(range.get("to").asText()).isLessThan(keepFrom);
        assertThat(range.get("from").asText()).isEqualTo(storedSegments(segments).first());
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/retention.main/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(YamlApps.api(app, "/jobs/retention.main"), TestTokens.READER).json()
                .path("lastRun").path("detail").asText().contains("deleted"));

        java.util.TreeSet<String> left = storedSegments(segments);
        assertThat(left.first()).as("nothing before the base backup the window needs, nothing of it deleted").isEqualTo(keepFrom);
        assertThat(left.size()).isEqualTo(Long.parseLong(left.last().substring(16), 16) - Long.parseLong(keepFrom.substring(16), 16) + 1);
        JsonNode window = Http.get(YamlApps.api(app, "/sources/main/pitr"), TestTokens.READER).json();
        assertThat(Instant.parse(window.get("recoverableFrom").asText())).isAfter(betweenBackups);
        Http.Reply pruned = restore(app, OffsetDateTime.ofInstant(betweenBackups, java.time.ZoneOffset.UTC).toString(),
                dir.resolve("pruned"), TestCluster.freePort());
        ProblemJsonTest.assertProblem(pruned, 422, "validation-failed");
        assertThat(pruned.body()).contains("retention deleted the WAL");
        assertThat(Http.get(YamlApps.api(app, "/retention/main/preview"), TestTokens.READER).json().get("deleteLog")).isEmpty();

        Path data = dir.resolve("latest-after-retention");
        int port = TestCluster.freePort();
        PgServer server = awaitRestored(restore(app, "latest", data, port), data, port);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(5);
    }

    private static java.util.TreeSet<String> storedSegments(Path timeline) throws java.io.IOException {
        try (var files = Files.list(timeline)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9A-F]{24}\\.zst"))
                    .map(n -> n.substring(0, 24)).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
        }
    }

    private String walFile(String expression) throws Exception {
        try (var c = cluster.connect(); var s = c.createStatement(); var r = s.executeQuery("SELECT " + expression)) {
            r.next();
            return r.getString(1);
        }
    }

    private boolean walOnServer(String segment) throws Exception {
        return cluster.count("SELECT count(*) FROM pg_ls_waldir() WHERE name = '" + segment + "'") > 0;
    }

    /** The README's stock-tool block, run as the postgres user against a copy of the storage tree, as an operator would. */
    @Test
    void stockToolRecoveryFromTheReadmeWorks() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)", "INSERT INTO orders VALUES (1)");
        String id = snapshot(app);
        cluster.sql("INSERT INTO orders VALUES (2)");
        Instant between = cluster.now();
        cluster.sql("INSERT INTO orders VALUES (3)", "SELECT pg_switch_wal()", "INSERT INTO orders VALUES (4)");
        awaitCovered(Instant.now());

        PgServer server = fixture.stockToolRecovery(app, id, between);
        assertThat(TestCluster.count(server, "SELECT count(*) FROM orders")).isEqualTo(2);
    }

    @Test
    void aPointOutsideTheWindowOrAMisspeltOneIsRefusedBeforeAnythingIsWritten() throws Exception {
        var app = app();
        cluster.sql("CREATE TABLE orders (id int PRIMARY KEY)");
        snapshot(app);
        Path data = dir.resolve("never");
        ProblemJsonTest.assertProblem(restore(app, OffsetDateTime.now().plusHours(1).toString(), data, 5999), 422,
                "validation-failed");
        ProblemJsonTest.assertProblem(restore(app, "2001-01-01T00:00:00Z", data, 5999), 422, "validation-failed");
        ProblemJsonTest.assertProblem(restore(app, "yesterday", data, 5999), 422, "validation-failed");
        ProblemJsonTest.assertProblem(Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json", """
                {"pointInTime": "latest", "mode": "new", "target": {"dataDirectory": "%s", "port": 5999}}
                """.formatted(data)), 422, "validation-failed");
        assertThat(data).doesNotExist();
    }
}
