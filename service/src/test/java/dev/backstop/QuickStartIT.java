package dev.backstop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.support.Http;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's run command, for real: the packaged jar on the shipped config.yml in an empty
 * directory, as a newcomer would start it (ports moved to free ones so CI never collides).
 */
class QuickStartIT {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path JAR = REPO.resolve("service/target/backstop.jar");

    @TempDir
    Path workDir;

    private Process process;

    @AfterEach
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void jarStartsOnTheEmbeddedDefaultsAndStopsCleanly() throws Exception {
        Files.copy(REPO.resolve("config.yml"), workDir.resolve("config.yml"), StandardCopyOption.REPLACE_EXISTING);
        int app = freePort();
        int admin = freePort();
        long started = System.nanoTime();
        process = new ProcessBuilder("java",
                "-Ddw.server.applicationConnectors[0].port=" + app,
                "-Ddw.server.adminConnectors[0].port=" + admin,
                "-jar", JAR.toString(), "server", "config.yml")
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("service.log").toFile())
                .start();

        String ready = "http://127.0.0.1:" + admin + "/health/ready";
        String info = "http://127.0.0.1:" + app + "/api/v1/info";
        Duration upAfter = waitUntilAnswering(ready, info, Duration.ofSeconds(10));
        assertThat(upAfter).as("both ports answer within 10 s of the jar starting; log:\n" + log()).isLessThan(Duration.ofSeconds(10));

        Http.Reply health = Http.get(ready, null);
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.contentType()).isEqualTo("application/health+json");

        Path tokenFile = workDir.resolve("var/api-token");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile))).isEqualTo("rw-------");
        String token = Files.readString(tokenFile).strip();
        assertThat(log()).contains(tokenFile.getFileName().toString()).doesNotContain(token);
        assertThat(Http.get(info, null).status()).isEqualTo(401);
        Http.Reply reply = Http.get(info, token);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().get("catalogType").asText()).isEqualTo("h2");
        assertThat(Files.exists(workDir.resolve("var/catalog.mv.db"))).isTrue();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(log()).as("REST calls are access-logged").contains("\"GET /api/v1/info HTTP/1.1\" 200"));
        assertThat(log()).as("the admin port is not access-logged").doesNotContain("\"GET /health/ready");

        // The README's first snapshot, on the embedded defaults.
        Files.writeString(workDir.resolve("var/data/hello.txt"), "hello\n");
        Http.Reply accepted = Http.send("POST", "http://127.0.0.1:" + app + "/api/v1/snapshots", token, "application/json",
                "{\"source\": \"files\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
                "COMPLETED".equals(Http.get(location, token).json().get("status").asText()));
        String dataKey = Http.get(location, token).json().get("dataKey").asText();
        assertThat(dataKey).endsWith("/data.tar.chunks.jsonl");
        // The README's look inside, with stock tools: join the chunks, list the tar.
        String readme = Files.readString(Path.of("..", "README.md"));
        String join = readme.substring(readme.indexOf("(cd var/backups && jq"), readme.indexOf("| tar -tv)") + "| tar -tv)".length());
        assertThat(dev.backstop.support.Shell.run(workDir, join.replace("files/*/*/*/*/data.tar.chunks.jsonl", dataKey)))
                .contains("hello.txt");

        process.toHandle().destroy(); // SIGTERM, as systemd stops it
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("stops within the grace period").isTrue();
        assertThat(process.exitValue()).isIn(0, 143);
        assertThat(System.nanoTime() - started).isPositive();

        // With the server stopped, the CLI takes a snapshot of the catalog itself.
        Process cli = new ProcessBuilder("java", "-jar", JAR.toString(), "snapshot", "config.yml", "--source", "catalog", "--json")
                .directory(workDir.toFile()).redirectErrorStream(true).start();
        String output = new String(cli.getInputStream().readAllBytes());
        assertThat(cli.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(cli.exitValue()).as(output).isZero();
        assertThat(output).contains("\"status\" : \"COMPLETED\"").contains("\"origin\" : \"CLI\"");
    }

    @Test
    void checkCommandReportsEachDependencyAndFailsOnABrokenOne() throws Exception {
        Files.copy(REPO.resolve("config.yml"), workDir.resolve("config.yml"), StandardCopyOption.REPLACE_EXISTING);
        ProcessResult fresh = runJar("check", "config.yml");
        assertThat(fresh.exitCode()).as(fresh.output()).isZero();
        assertThat(fresh.output()).containsPattern("warn +catalog +no catalog yet");
        assertThat(workDir.resolve("var/catalog.mv.db")).as("check creates no catalog").doesNotExist();
        assertThat(runJar("snapshot", "config.yml", "--source", "files").exitCode()).isZero(); // now there is one
        ProcessResult good = runJar("check", "config.yml");
        assertThat(good.exitCode()).as(good.output()).isZero();
        assertThat(good.output()).contains("ok    catalog ", "ok    storage local", "ok    source files", "0 failed");
        assertThat(good.output()).as("every line says something").doesNotContain(" null");
        assertThat(good.output()).containsPattern("ok +scheduler +standalone as ").containsPattern("ok +job snapshot.catalog +'0 0 \\* \\* \\* \\?', next ");

        // A filesystem target where nothing can be written: /proc refuses new files even to root.
        String broken = Files.readString(workDir.resolve("config.yml")).replace("path: ./var/backups", "path: /proc/backstop-check");
        Files.writeString(workDir.resolve("broken.yml"), broken);
        ProcessResult bad = runJar("check", "broken.yml");
        assertThat(bad.exitCode()).as(bad.output()).isEqualTo(1);
        assertThat(bad.output()).containsPattern("fail +storage local").contains("1 failed");
    }

    /** CLI mistakes are one line on stderr and a non-zero exit; results alone on stdout. */
    @Test
    void cliMistakesAreOneLineAndResultsGoToStdout() throws Exception {
        Files.copy(REPO.resolve("config.yml"), workDir.resolve("config.yml"), StandardCopyOption.REPLACE_EXISTING);
        Split unknown = runJarSplit("snapshot", "config.yml", "--source", "nope");
        assertThat(unknown.exitCode()).isNotZero();
        assertThat(unknown.stderr().lines().filter(l -> l.startsWith("backstop snapshot: "))).containsExactly(
                "backstop snapshot: unknown source 'nope'; configured sources: catalog, files");
        assertThat(unknown.stderr() + unknown.stdout()).doesNotContain("Exception").doesNotContain("\tat ");

        Split taken = runJarSplit("snapshot", "config.yml", "--source", "files");
        assertThat(taken.exitCode()).as(taken.stderr()).isZero();
        assertThat(taken.stdout().strip()).as("only the result on stdout").startsWith("snapshot ").contains(" of files COMPLETED: ")
                .doesNotContain("INFO");
        assertThat(taken.stderr()).as("logs on stderr").contains("INFO");
        String id = taken.stdout().split(" ")[1];

        Split listed = runJarSplit("snapshots", "list", "config.yml", "--source", "files", "--status", "completed");
        assertThat(listed.exitCode()).as(listed.stderr()).isZero();
        assertThat(listed.stdout().lines().toList()).hasSize(2).last().asString().startsWith(id).contains("COMPLETED");
        Split listedJson = runJarSplit("snapshots", "list", "config.yml", "--json");
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(listedJson.stdout()).get(0).get("id").asText())
                .isEqualTo(id);

        Files.writeString(workDir.resolve("typo.yml"), Files.readString(workDir.resolve("config.yml"))
                .replace("maxConcurrent: 2", "maxConcurent: 2"));
        ProcessResult badConfig = runJar("check", "typo.yml");
        assertThat(badConfig.exitCode()).isNotZero();
        assertThat(badConfig.output()).containsPattern("fail +config +.*maxConcurent").contains("1 checked, 1 failed")
                .doesNotContain("\tat ");

        // A forgotten config file is refused, not run on built-in defaults; every mistake is one line.
        for (String[] args : new String[][] {{"check"}, {"rebuild-catalog"}, {"snapshots", "list"}, {"snapshot", "--source", "files"}}) {
            Split noConfig = runJarSplit(args);
            assertThat(noConfig.exitCode()).as(String.join(" ", args)).isNotZero();
            assertThat(noConfig.stdout() + noConfig.stderr()).as(String.join(" ", args)).contains("no configuration file given")
                    .doesNotContain("\tat ").doesNotContain("0 manifests");
        }
        Split zero = runJarSplit("snapshots", "list", "config.yml", "--limit", "0");
        assertThat(zero.exitCode()).isNotZero();
        assertThat(zero.stderr()).contains("backstop snapshots: --limit must be between 1 and 500, not 0");
        Split missing = runJarSplit("server", "nope.yml");
        assertThat(missing.exitCode()).isNotZero();
        assertThat(missing.stderr().strip().lines().filter(l -> !l.isBlank()).toList()).as(missing.stderr()).hasSize(1)
                .first().asString().startsWith("backstop server: ").contains("nope.yml");

        int app = freePort();
        int admin = freePort();
        process = startServer(app, admin);
        waitUntilAnswering("http://127.0.0.1:" + admin + "/health/ready", "http://127.0.0.1:" + app + "/api/v1/info", Duration.ofSeconds(10));
        Split whileRunning = runJarSplit("snapshot", "config.yml", "--source", "files");
        assertThat(whileRunning.exitCode()).isNotZero();
        assertThat(whileRunning.stderr()).contains("backstop snapshot: the server is running").doesNotContain("\tat ");
    }

    record Split(int exitCode, String stdout, String stderr) {}

    private Split runJarSplit(String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("java", "-jar", JAR.toString()));
        command.addAll(java.util.List.of(args));
        Path err = Files.createTempFile(workDir, "stderr", ".txt");
        Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectError(err.toFile()).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Split(p.exitValue(), output, Files.readString(err));
    }

    /**
     * Type=notify as systemd runs it: a real Unix datagram socket (Python's, as the JDK has none)
     * receives READY=1 once the ports listen, WATCHDOG=1 while liveness passes, STOPPING=1 on SIGTERM.
     */
    @Test
    void notifiesSystemdReadyWatchdogAndStopping() throws Exception {
        Files.copy(REPO.resolve("config.yml"), workDir.resolve("config.yml"), StandardCopyOption.REPLACE_EXISTING);
        Path socket = workDir.resolve("notify.sock");
        Path received = workDir.resolve("notify.log");
        Process listener = new ProcessBuilder("python3", "-u", "-c", String.join("\n",
                "import socket, sys",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "s.bind(sys.argv[1])",
                "print('LISTENING', flush=True)",
                "while True:",
                "    print(s.recv(4096).decode().replace('\\n', ' '), flush=True)"), socket.toString())
                .redirectErrorStream(true).redirectOutput(received.toFile()).start();
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(received).contains("LISTENING"));
            int app = freePort();
            int admin = freePort();
            ProcessBuilder builder = new ProcessBuilder("java", "-Ddw.server.applicationConnectors[0].port=" + app,
                    "-Ddw.server.adminConnectors[0].port=" + admin, "-jar", JAR.toString(), "server", "config.yml")
                    .directory(workDir.toFile()).redirectErrorStream(true).redirectOutput(workDir.resolve("service.log").toFile());
            builder.environment().put("NOTIFY_SOCKET", socket.toString());
            builder.environment().put("WATCHDOG_USEC", "1000000");
            process = builder.start();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(Files.readString(received)).as(log()).contains("READY=1").contains("MAINPID=" + process.pid()));
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(Files.readString(received).split("WATCHDOG=1", -1).length - 1).isGreaterThanOrEqualTo(2));
            assertThat(Http.get("http://127.0.0.1:" + admin + "/health/live", null).status()).isEqualTo(200);
            process.toHandle().destroy();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(Files.readString(received)).contains("STOPPING=1"));
        } finally {
            listener.destroyForcibly();
        }
    }

    /**
     * Logs are JSON lines with the snapshot's id and source in every line of a run, and secrets
     * from the configuration appear nowhere in them, not even when a snapshot fails.
     */
    @Test
    void jsonLogsCarryTheSnapshotIdAndNeverASecret() throws Exception {
        String secret = "known-secret-value-7f3a9c";
        try (dev.backstop.support.TestPostgres db = dev.backstop.support.TestPostgres.create()) {
            Files.writeString(workDir.resolve("json.yml"), """
                    catalog: {url: "jdbc:h2:./var/catalog"}
                    auth: {generatedTokenFile: ./var/api-token}
                    storage:
                      targets: [{type: filesystem, name: local, path: ./var/backups}]
                    sources:
                      - {type: postgres, name: db, host: %1$s, port: %2$d, database: %3$s, user: %4$s, password: "${DB_PASSWORD}"}
                      - {type: postgres, name: broken, host: %1$s, port: %2$d, database: no_such_db, user: %4$s, password: "${DB_PASSWORD}"}
                    logging:
                      level: INFO
                      appenders: [{type: console, target: stdout, layout: {type: json}}]
                    """.formatted(dev.backstop.support.TestPostgres.HOST, dev.backstop.support.TestPostgres.PORT, db.database(),
                    dev.backstop.support.TestPostgres.USER));
            ProcessResult ok = runJarWithEnv(java.util.Map.of("DB_PASSWORD", secret), "snapshot", "json.yml", "--source", "db");
            assertThat(ok.exitCode()).as(ok.output()).isZero();
            ProcessResult failed = runJarWithEnv(java.util.Map.of("DB_PASSWORD", secret), "snapshot", "json.yml", "--source", "broken");
            assertThat(failed.exitCode()).isNotZero();
            for (ProcessResult run : java.util.List.of(ok, failed)) {
                assertThat(run.output()).doesNotContain(secret);
                java.util.List<String> snapshotLines = run.output().lines()
                        .filter(l -> l.startsWith("{") && l.contains("\"logger\":\"dev.backstop.core.SnapshotService\"")).toList();
                assertThat(snapshotLines).isNotEmpty();
                for (String line : snapshotLines) {
                    com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
                    assertThat(json.get("mdc").get("snapshot_id").asText()).hasSize(26);
                    assertThat(json.get("mdc").get("source").asText()).isIn("db", "broken");
                }
            }
            assertThat(failed.output()).contains("no_such_db");
        }
    }

    private ProcessResult runJarWithEnv(java.util.Map<String, String> env, String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("java", "-jar", JAR.toString()));
        command.addAll(java.util.List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process p = builder.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new ProcessResult(p.exitValue(), output);
    }

    /** The runbook's worst day: the catalog is gone, the service is down; restore from storage alone. */
    @Test
    void restoresFromStorageAfterLosingTheCatalog() throws Exception {
        Files.copy(REPO.resolve("config.yml"), workDir.resolve("config.yml"), StandardCopyOption.REPLACE_EXISTING);
        Files.createDirectories(workDir.resolve("var/data/sub"));
        Files.writeString(workDir.resolve("var/data/a.txt"), "one\n");
        Files.writeString(workDir.resolve("var/data/sub/b.txt"), "two\n");
        ProcessResult snapshot = runJar("snapshot", "config.yml", "--source", "files", "--json");
        assertThat(snapshot.exitCode()).as(snapshot.output()).isZero();
        String id = snapshot.output().replaceAll("(?s).*\"id\" : \"([0-9A-Z]{26})\".*", "$1");
        assertThat(id).hasSize(26);

        Files.delete(workDir.resolve("var/catalog.mv.db"));
        Path restored = workDir.resolve("restored");
        ProcessResult restore = runJar("restore", "config.yml", "--snapshot", id, "--target", "path=" + restored, "--json");
        assertThat(restore.exitCode()).as(restore.output()).isZero();
        assertThat(restore.output()).contains("was not in the catalog").contains("\"phase\" : \"COMPLETED\"");
        assertThat(Files.readString(restored.resolve("a.txt"))).isEqualTo("one\n");
        assertThat(Files.readString(restored.resolve("sub/b.txt"))).isEqualTo("two\n");

        Files.delete(workDir.resolve("var/catalog.mv.db"));
        ProcessResult rebuilt = runJar("rebuild-catalog", "config.yml");
        assertThat(rebuilt.exitCode()).as(rebuilt.output()).isZero();
        assertThat(rebuilt.output()).contains("1 manifests found, 1 snapshots added to the catalog");
    }

    /**
     * SIGKILL in the middle of a restore, then a restart: the restore is FAILED with a reason, its
     * staging files are gone, the live target is as it was, and a new restore succeeds.
     */
    @Test
    void aRestoreKilledMidwayIsFailedOnRestartAndTheTargetIsIntact() throws Exception {
        Files.copy(REPO.resolve("config.yml"), workDir.resolve("config.yml"), StandardCopyOption.REPLACE_EXISTING);
        Path data = Files.createDirectories(workDir.resolve("var/data"));
        byte[] chunk = new byte[1 << 20];
        java.util.Random random = new java.util.Random(11);
        for (int i = 0; i < 300; i++) { // 300 MiB of incompressible data: the restore takes a while
            random.nextBytes(chunk);
            Files.write(data.resolve("blob-" + i), chunk);
        }
        ProcessResult snapshot = runJar("snapshot", "config.yml", "--source", "files", "--json");
        assertThat(snapshot.exitCode()).as(snapshot.output()).isZero();
        String id = snapshot.output().replaceAll("(?s).*\"id\" : \"([0-9A-Z]{26})\".*", "$1");

        Path live = Files.createDirectories(workDir.resolve("live"));
        Files.writeString(live.resolve("keep.txt"), "live data\n");
        int app = freePort();
        int admin = freePort();
        process = startServer(app, admin);
        waitUntilAnswering("http://127.0.0.1:" + admin + "/health/ready", "http://127.0.0.1:" + app + "/api/v1/info", Duration.ofSeconds(10));
        String token = Files.readString(workDir.resolve("var/api-token")).strip();
        Http.Reply accepted = Http.send("POST", "http://127.0.0.1:" + app + "/api/v1/restores", token, "application/json",
                "{\"snapshotId\": \"" + id + "\", \"target\": {\"path\": \"" + live + "\"}, \"mode\": \"replace\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
            long done = Http.get(location, token).json().get("bytesDone").asLong();
            return done > 0;
        });
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL: no shutdown hook runs

        process = startServer(app, admin);
        waitUntilAnswering("http://127.0.0.1:" + admin + "/health/ready", "http://127.0.0.1:" + app + "/api/v1/info", Duration.ofSeconds(10));
        com.fasterxml.jackson.databind.JsonNode after = Http.get(location, token).json();
        assertThat(after.get("phase").asText()).isEqualTo("FAILED");
        assertThat(after.get("error").asText()).contains("interrupted");
        assertThat(workDir.resolve("var/staging")).as("restores stream: nothing is staged").satisfiesAnyOf(
                p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
        assertThat(Files.readString(live.resolve("keep.txt"))).isEqualTo("live data\n");
        try (java.util.stream.Stream<Path> siblings = Files.list(workDir)) {
            assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".live"))).as("no half-restored sibling")
                    .isEmpty();
        }

        Http.Reply again = Http.send("POST", "http://127.0.0.1:" + app + "/api/v1/restores", token, "application/json",
                "{\"snapshotId\": \"" + id + "\", \"target\": {\"path\": \"" + live + "\"}, \"mode\": \"replace\"}");
        assertThat(again.status()).as(again.body()).isEqualTo(202);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(120)).until(() ->
                !List.of("QUEUED", "DOWNLOADING", "VERIFYING", "APPLYING").contains(Http.get(again.header("Location"), token).json().get("phase").asText()));
        assertThat(Http.get(again.header("Location"), token).json().get("phase").asText()).isEqualTo("COMPLETED");
        assertThat(Files.exists(live.resolve("keep.txt"))).isFalse();
        assertThat(Files.size(live.resolve("blob-0"))).isEqualTo(1 << 20);
    }

    private Process startServer(int app, int admin) throws IOException {
        return new ProcessBuilder("java", "-Ddw.server.applicationConnectors[0].port=" + app,
                "-Ddw.server.adminConnectors[0].port=" + admin, "-jar", JAR.toString(), "server", "config.yml")
                .directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(workDir.resolve("service.log").toFile())).start();
    }

    record ProcessResult(int exitCode, String output) {}

    private ProcessResult runJar(String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("java", "-jar", JAR.toString()));
        command.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new ProcessResult(p.exitValue(), output);
    }

    private Duration waitUntilAnswering(String first, String second, Duration limit) throws InterruptedException {
        long start = System.nanoTime();
        while (System.nanoTime() - start < limit.toNanos() * 3) {
            try {
                Http.get(first, null);
                Http.get(second, null);
                return Duration.ofNanos(System.nanoTime() - start);
            } catch (RuntimeException notYet) {
                if (!process.isAlive()) {
                    throw new AssertionError("service exited early:\n" + log());
                }
                Thread.sleep(100);
            }
        }
        throw new AssertionError("service did not answer; log:\n" + log());
    }

    private String log() {
        try {
            return Files.readString(workDir.resolve("service.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
