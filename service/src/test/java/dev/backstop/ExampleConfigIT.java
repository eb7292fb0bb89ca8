package dev.backstop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.source.FileTrees;
import dev.backstop.source.pgcluster.PgServer;
import dev.backstop.support.EnvFiles;
import dev.backstop.support.Http;
import dev.backstop.support.S3rverServer;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestGpg;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The configuration we ship is the one we test: {@code deployment/config.example.yml} and
 * {@code deployment/env.example} as an operator fills them in, run by the packaged jar against real
 * components. Every placeholder secret of env.example gets a real value; the rest of the files is
 * taken as shipped, with only this host's addresses and paths given as {@code -Ddw.} overrides (the
 * ports, the catalog's and the sources' port, the S3 endpoint, the directories under
 * /var/lib/backstop and the key file). PostgreSQL asks every connection for its password
 * (scram-sha-256), the S3 target is s3rver (an S3 implementation independent of S3Proxy), and the
 * snapshot host holds only the public key. A second configuration, the example with its two
 * private-key lines uncommented, restores a dump, a directory and a point in time.
 */
class ExampleConfigIT {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path JAR = REPO.resolve("service/target/backstop.jar");
    private static final String SUPERUSER_PASSWORD = "superuser secret";
    private static final String PASSPHRASE = "restore host passphrase";
    private static final String ONCALL_TOKEN = "oncall-token-" + Long.toHexString(System.nanoTime());

    private TestCluster cluster;
    private S3rverServer s3;
    private TestGpg gpg;
    private Path dir;
    private final List<Process> services = new ArrayList<>();
    private final List<PgServer> restored = new ArrayList<>();
    private Map<String, String> env;
    private int appPort;
    private int adminPort;

    @BeforeEach
    void components() throws Exception {
        dir = TestCluster.openDirectory("backstop-example-config");
        cluster = TestCluster.startWithPassword(SUPERUSER_PASSWORD);
        s3 = S3rverServer.start("acme-backups");
        gpg = TestGpg.create(PASSPHRASE);
        env = secrets();
        // What an operator does on the database server (README: catalog, sources, PostgreSQL clusters).
        cluster.sql("CREATE ROLE backstop LOGIN PASSWORD " + literal(env.get("BACKSTOP_CATALOG_PASSWORD")),
                "CREATE DATABASE backstop OWNER backstop",
                "CREATE ROLE backstop_reader LOGIN CREATEDB PASSWORD " + literal(env.get("APP_DB_PASSWORD")),
                "GRANT pg_read_all_data TO backstop_reader",
                "CREATE DATABASE app",
                "CREATE ROLE backstop_repl LOGIN REPLICATION PASSWORD " + literal(env.get("BACKSTOP_REPL_PASSWORD")));
        try (var c = cluster.server().connect("app", "postgres", SUPERUSER_PASSWORD); var s = c.createStatement()) {
            s.execute("CREATE TABLE orders (id int PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now())");
            s.execute("CREATE TABLE events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())");
            s.execute("GRANT DELETE ON events TO backstop_reader");
            s.execute("INSERT INTO orders (id) SELECT generate_series(1, 100)");
        }
        Files.createDirectories(dir.resolve("var/uploads-mirror/cache"));
        Files.writeString(dir.resolve("var/uploads-mirror/invoice 1.pdf"), "%PDF pretend\n".repeat(1000));
        Files.writeString(dir.resolve("var/uploads-mirror/cache/skipped.bin"), "cache");
        gpg.exportPublicKey(dir.resolve("recipient.asc"));
        gpg.exportSecretKey(dir.resolve("restore-key.asc"));
    }

    /** env.example with a real value for each placeholder (and the S3 lines it leaves commented, filled in). */
    private Map<String, String> secrets() throws Exception {
        Map<String, String> template = EnvFiles.read(REPO.resolve("deployment/env.example"));
        Map<String, String> filled = new LinkedHashMap<>();
        for (String key : template.keySet()) {
            filled.put(key, key.endsWith("_SHA256") ? sha256(key.contains("ONCALL") ? ONCALL_TOKEN : "grafana-" + key)
                    : "pw with spaces, 'quotes' and # " + key.toLowerCase(java.util.Locale.ROOT));
        }
        filled.put("AWS_ACCESS_KEY_ID", S3rverServer.ACCESS_KEY);
        filled.put("AWS_SECRET_ACCESS_KEY", S3rverServer.SECRET_KEY);
        Files.writeString(dir.resolve("env"), String.join("\n", filled.entrySet().stream()
                .map(e -> e.getKey() + "=\"" + e.getValue().replace("\\", "\\\\").replace("\"", "\\\"") + "\"").toList()) + "\n");
        return EnvFiles.read(dir.resolve("env")); // as systemd hands them to the service
    }

    @AfterEach
    void stop() throws Exception {
        for (Process service : services) {
            service.destroy();
            if (!service.waitFor(60, TimeUnit.SECONDS)) {
                service.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        for (PgServer server : restored) {
            server.stop("immediate");
        }
        if (cluster != null) {
            cluster.close();
        }
        if (s3 != null) {
            s3.close();
        }
        if (gpg != null) {
            gpg.close();
        }
        if (dir != null) {
            FileTrees.delete(dir);
        }
    }

    /** This host's addresses and paths; nothing else of the example is changed. */
    private List<String> overrides() throws IOException {
        appPort = TestCluster.freePort();
        adminPort = TestCluster.freePort();
        String var = dir.resolve("var").toString();
        return List.of("-Ddw.server.applicationConnectors[0].port=" + appPort, "-Ddw.server.adminConnectors[0].port=" + adminPort,
                "-Ddw.catalog.url=jdbc:postgresql://127.0.0.1:" + cluster.port() + "/backstop",
                "-Ddw.disk.paths[0]=" + var, "-Ddw.snapshots.stagingPath=" + var + "/staging",
                "-Ddw.storage.targets[0].endpoint=" + s3.endpoint(), "-Ddw.storage.targets[0].pathStyleAccess=true",
                "-Ddw.storage.targets[1].path=" + var + "/backups",
                "-Ddw.encryption.recipientKeyFile=" + dir.resolve("recipient.asc"),
                "-Ddw.sources[0].port=" + cluster.port(),
                "-Ddw.sources[1].path=" + var + "/uploads-mirror",
                "-Ddw.sources[2].port=" + cluster.port(), "-Ddw.sources[2].walSpool=" + var + "/wal-spool/app-cluster");
    }

    private Process start(Path config, String name, Map<String, String> moreEnv) throws Exception {
        List<String> command = new ArrayList<>(List.of("java"));
        command.addAll(overrides());
        command.addAll(List.of("-jar", JAR.toString(), "server", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        builder.environment().putAll(env);
        builder.environment().putAll(moreEnv);
        Process process = builder.start();
        services.add(process);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(java.io.UncheckedIOException.class).until(() -> {
            assertThat(process.isAlive()).as("the service exited; log:\n%s", log(name)).isTrue();
            return Http.get(admin("/health/ready"), null).status() == 200;
        });
        return process;
    }

    private String log(String name) throws IOException {
        return Files.readString(dir.resolve(name + ".log"));
    }

    private void stopService(Process process) throws InterruptedException {
        process.destroy(); // SIGTERM, as systemctl stop
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).isTrue();
        services.remove(process);
    }

    private String api(String path) {
        return "http://127.0.0.1:" + appPort + "/api/v1" + path;
    }

    private String admin(String path) {
        return "http://127.0.0.1:" + adminPort + path;
    }

    private JsonNode snapshot(String source) {
        Http.Reply accepted = Http.send("POST", api("/snapshots"), ONCALL_TOKEN, "application/json", "{\"source\": \"" + source + "\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = accepted.json().get("id").asText();
        await().atMost(Duration.ofSeconds(180)).until(() -> !Http.get(api("/snapshots/" + id), ONCALL_TOKEN).json().get("status")
                .asText().equals("RUNNING"));
        JsonNode row = Http.get(api("/snapshots/" + id), ONCALL_TOKEN).json();
        assertThat(row.get("status").asText()).as(row.toString()).isEqualTo("COMPLETED");
        return row;
    }

    private JsonNode restore(String body) {
        Http.Reply accepted = Http.send("POST", api("/restores"), ONCALL_TOKEN, "application/json", body);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        await().atMost(Duration.ofSeconds(300)).until(() -> {
            String phase = Http.get(location, ONCALL_TOKEN).json().get("phase").asText();
            return phase.equals("COMPLETED") || phase.equals("FAILED") || phase.equals("CANCELLED");
        });
        JsonNode row = Http.get(location, ONCALL_TOKEN).json();
        assertThat(row.get("phase").asText()).as(row.toString()).isEqualTo("COMPLETED");
        return row;
    }

    private Instant coveredUntil() {
        JsonNode archive = Http.get(api("/sources/app-cluster/pitr"), ONCALL_TOKEN).json().get("archive");
        return archive.hasNonNull("coveredUntil") ? Instant.parse(archive.get("coveredUntil").asText()) : Instant.EPOCH;
    }

    private long count(String database, String query) throws Exception {
        try (var c = cluster.server().connect(database, "postgres", SUPERUSER_PASSWORD); var s = c.createStatement();
                var r = s.executeQuery(query)) {
            r.next();
            return r.getLong(1);
        }
    }

    @Test
    void theShippedConfigurationTakesSnapshotsArchivesWalAndAnotherHostRestoresThem() throws Exception {
        Path config = dir.resolve("config.yml");
        Files.copy(REPO.resolve("deployment/config.example.yml"), config);

        // The operator's first check, as install.sh runs it: nothing fails.
        List<String> check = new ArrayList<>(List.of("java"));
        check.addAll(overrides());
        check.addAll(List.of("-jar", JAR.toString(), "check", config.toString()));
        ProcessBuilder checking = new ProcessBuilder(check).directory(dir.toFile()).redirectErrorStream(true);
        checking.environment().putAll(env);
        Process checked = checking.start();
        String checkOutput = new String(checked.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(checked.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(checkOutput).as(checkOutput).doesNotContainPattern("(?m)^fail ")
                .containsPattern("(?m)^ok +source app-cluster pg_receivewal +connects for replication as backstop_repl")
                .containsPattern("(?m)^ok +source app-db pg_dump +connects to app as backstop_reader");
        assertThat(checked.exitValue()).as(checkOutput).isZero();

        Process snapshots = start(config, "snapshot-host", Map.of());
        await().atMost(Duration.ofSeconds(90)).until(() -> coveredUntil().isAfter(Instant.EPOCH)); // WAL is archived
        JsonNode dump = snapshot("app-db");
        JsonNode files = snapshot("uploads");
        JsonNode base = snapshot("app-cluster");
        assertThat(dump.get("storageTarget").asText()).isEqualTo("offsite");
        assertThat(dump.get("dataKey").asText()).as("the shipped default: chunked").endsWith(".dump.chunks.jsonl");
        assertThat(base.get("dataKey").asText()).endsWith(".tar.chunks.jsonl");
        assertThat(dump.get("storageFormat").asText()).isEqualTo("chunked-1");
        try (var c = cluster.server().connect("app", "postgres", SUPERUSER_PASSWORD); var s = c.createStatement()) {
            s.execute("INSERT INTO orders (id) SELECT generate_series(101, 200)");
        }
        Instant point = cluster.now();
        try (var c = cluster.server().connect("app", "postgres", SUPERUSER_PASSWORD); var s = c.createStatement()) {
            s.execute("INSERT INTO orders (id) SELECT generate_series(201, 300)");
        }
        Instant after = cluster.now();
        await().atMost(Duration.ofSeconds(90)).until(() -> coveredUntil().isAfter(after));
        JsonNode window = Http.get(api("/sources/app-cluster/pitr"), ONCALL_TOKEN).json();
        assertThat(window.get("archive").get("receiver").asText()).as(window.toString()).isEqualTo("streaming");
        String snapshotLog = log("snapshot-host");
        assertThat(snapshotLog).doesNotContain("fe_sendauth", "privateKeyFile is not configured", env.get("APP_DB_PASSWORD"),
                env.get("BACKSTOP_REPL_PASSWORD"), env.get("BACKSTOP_CATALOG_PASSWORD"));
        stopService(snapshots);

        // The restoring host: the example with its private-key lines uncommented.
        Path restoreConfig = dir.resolve("restore-config.yml");
        String example = Files.readString(config);
        String withKey = example.replace("  # privateKeyFile: /etc/backstop/restore-key.asc", "  privateKeyFile: " + dir.resolve("restore-key.asc"))
                .replace("  # privateKeyPassphrase:", "  privateKeyPassphrase:");
        assertThat(withKey).as("the example's private-key lines").isNotEqualTo(example).contains("privateKeyPassphrase: \"${");
        Files.writeString(restoreConfig, withKey);
        // ... and env.example's BACKSTOP_KEY_PASSPHRASE line, which only a restoring host has.
        assertThat(Files.readString(REPO.resolve("deployment/env.example"))).contains("# BACKSTOP_KEY_PASSPHRASE=");
        start(restoreConfig, "restore-host", Map.of("BACKSTOP_KEY_PASSPHRASE", PASSPHRASE));

        restore("""
                {"snapshotId": "%s", "mode": "new", "target": {"database": "app_copy"}}""".formatted(dump.get("id").asText()));
        assertThat(count("app_copy", "SELECT count(*) FROM orders")).isEqualTo(100);

        Path copy = dir.resolve("var/uploads-copy");
        restore("""
                {"snapshotId": "%s", "mode": "new", "target": {"path": "%s"}}""".formatted(files.get("id").asText(), copy));
        assertThat(Files.readString(copy.resolve("invoice 1.pdf"))).isEqualTo("%PDF pretend\n".repeat(1000));
        assertThat(copy.resolve("cache/skipped.bin")).as("excluded by the example's cache/**").doesNotExist();

        Path data = dir.resolve("pitr");
        int port = TestCluster.freePort();
        JsonNode pitr = restore("""
                {"source": "app-cluster", "pointInTime": "%s", "mode": "new", "target": {"dataDirectory": "%s", "port": %d, "start": true}}
                """.formatted(point, data, port));
        PgServer server = new PgServer(TestCluster.tools(), data, port);
        restored.add(server);
        assertThat(Instant.parse(pitr.get("recoveredTo").asText())).isBeforeOrEqualTo(point);
        try (var c = server.connect("app", "postgres", SUPERUSER_PASSWORD); var s = c.createStatement();
                var r = s.executeQuery("SELECT count(*) FROM orders")) {
            r.next();
            assertThat(r.getLong(1)).as("the rows committed before the point, none after").isEqualTo(200);
        }
        assertThat(base.get("id").asText()).isNotBlank();
    }

    private static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    private static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }
}
