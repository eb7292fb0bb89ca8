package dev.backstop.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.support.Http;
import dev.backstop.support.TestPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two packaged services clustered on one PostgreSQL catalog, a snapshot trigger every 2 s for a
 * minute: every fire time makes exactly one snapshot, and when the node running one is killed
 * (SIGKILL) the other recovers that fire time's snapshot and completes it.
 */
class ClusterIT {
    private static final Path JAR = Path.of("..").toAbsolutePath().normalize().resolve("service/target/backstop.jar");
    private static final Duration RUN = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private TestPostgres catalog;
    private final Map<String, Process> nodes = new HashMap<>();
    private final Map<String, Integer> adminPorts = new HashMap<>();

    @AfterEach
    void stop() throws Exception {
        for (Process p : nodes.values()) {
            if (p.isAlive()) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (catalog != null) {
            catalog.close();
        }
    }

    private void start(String node) throws IOException {
        int app = freePort();
        int admin = freePort();
        adminPorts.put(node, admin);
        String config = """
                server:
                  applicationConnectors: [{type: http, port: %1$d}]
                  adminConnectors: [{type: http, port: %2$d}]
                  requestLog: {appenders: []}
                catalog:
                  driverClass: org.postgresql.Driver
                  url: %3$s
                  user: %4$s
                  password: ""
                auth:
                  generatedTokenFile: %5$s/token-%6$s
                scheduler:
                  clustered: true
                  instanceId: %6$s
                  clusterCheckinInterval: 1s
                  shutdownGracePeriod: 20s
                compression: {level: 19}
                disk: {paths: [%5$s]}
                snapshots: {stagingPath: %5$s/staging-%6$s}
                storage:
                  targets:
                    - {type: filesystem, name: shared, path: %5$s/backups}
                sources:
                  - {type: directory, name: files, format: object, path: %5$s/data, schedule: "*/2 * * * * ?"}
                logging:
                  level: INFO
                """.formatted(app, admin, catalog.jdbcUrl(), TestPostgres.USER, dir, node);
        Path file = dir.resolve("config-" + node + ".yml");
        Files.writeString(file, config);
        nodes.put(node, new ProcessBuilder("java", "-jar", JAR.toString(), "server", file.toString())
                .directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(node + ".log").toFile())).start());
    }

    private void awaitReady(String node) throws Exception {
        String ready = "http://127.0.0.1:" + adminPorts.get(node) + "/health/ready";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (Http.get(ready, null).status() == 200) {
                    return;
                }
            } catch (RuntimeException notYet) {
                assertThat(nodes.get(node).isAlive()).as("node %s exited:%n%s", node, log(node)).isTrue();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("node " + node + " not ready:\n" + log(node));
    }

    private String log(String node) {
        try {
            return Files.readString(dir.resolve(node + ".log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private record Row(String id, String status, String node, Instant scheduledFor, String error) {}

    private List<Row> rows() throws Exception {
        List<Row> rows = new ArrayList<>();
        try (Connection c = catalog.connect(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT id, status, node, scheduled_for, error FROM snapshots ORDER BY id")) {
            while (r.next()) {
                rows.add(new Row(r.getString(1), r.getString(2), r.getString(3),
                        r.getTimestamp(4) == null ? null : r.getTimestamp(4).toInstant(), r.getString(5)));
            }
        }
        return rows;
    }

    @Test
    void eachFireTimeRunsOnceAcrossTheClusterAndAKilledNodesSnapshotIsRecovered() throws Exception {
        catalog = TestPostgres.create();
        Files.createDirectories(dir.resolve("data"));
        byte[] random = new byte[3 << 20];
        new Random(42).nextBytes(random);
        // About a second at zstd level 19 for each snapshot: the source is stored whole (format: object),
        // since a chunked one would reuse the unchanged file and finish before a node can be killed mid-run.
        Files.write(dir.resolve("data/random.bin"), random);
        start("node-a");
        awaitReady("node-a");
        start("node-b");
        awaitReady("node-b");
        Instant started = Instant.now();

        // Kill whichever node is in the middle of a snapshot, once enough have run to show sharing works.
        Thread.sleep(15_000);
        Row victim = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (victim == null && System.nanoTime() < deadline) {
            victim = rows().stream().filter(r -> r.status().equals("RUNNING")).findFirst().orElse(null);
            if (victim == null) {
                Thread.sleep(20);
            }
        }
        assertThat(victim).as("a running snapshot to interrupt").isNotNull();
        String dead = victim.node();
        String survivor = dead.equals("node-a") ? "node-b" : "node-a";
        nodes.get(dead).destroyForcibly().waitFor(10, TimeUnit.SECONDS);

        Thread.sleep(Math.max(0, RUN.toMillis() - Duration.between(started, Instant.now()).toMillis()));
        Row interrupted = victim;
        long recoverBy = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < recoverBy
                && !rows().stream().anyMatch(r -> r.id().equals(interrupted.id()) && r.status().equals("COMPLETED"))) {
            Thread.sleep(250);
        }
        Process last = nodes.get(survivor);
        last.destroy(); // SIGTERM: the running snapshot, if any, finishes within the grace period
        assertThat(last.waitFor(60, TimeUnit.SECONDS)).isTrue();

        List<Row> rows = rows();
        Row recovered = rows.stream().filter(r -> r.id().equals(interrupted.id())).findFirst().orElseThrow();
        assertThat(recovered.status()).as("the killed node's snapshot was completed by %s; %s log:%n%s", survivor, survivor,
                log(survivor)).isEqualTo("COMPLETED");
        assertThat(recovered.node()).isEqualTo(survivor);
        assertThat(recovered.scheduledFor()).isEqualTo(interrupted.scheduledFor());
        assertThat(log(survivor)).contains("taken over from node " + dead);

        assertThat(rows).allSatisfy(r -> assertThat(r.scheduledFor()).as("only scheduled snapshots").isNotNull());
        assertThat(rows).extracting(Row::scheduledFor).doesNotHaveDuplicates();
        assertThat(rows).allSatisfy(r -> assertThat(r.status()).as("row %s: %s", r.id(), r.error()).isEqualTo("COMPLETED"));
        assertThat(rows.size()).as("a minute of fires every 2 s").isGreaterThanOrEqualTo(15);
        assertThat(rows).allSatisfy(r -> assertThat(r.scheduledFor().getEpochSecond() % 2).isZero());

        // No fire ran twice: every run is recorded, and none was refused as a duplicate of a fire time.
        try (Connection c = catalog.connect(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT outcome, COUNT(*) FROM audit_events WHERE action = 'job.run' GROUP BY outcome")) {
            Map<String, Integer> outcomes = new HashMap<>();
            while (r.next()) {
                outcomes.put(r.getString(1), r.getInt(2));
            }
            assertThat(outcomes.getOrDefault("REFUSED", 0)).as("runs refused as duplicates: %s", outcomes).isZero();
            assertThat(outcomes.getOrDefault("FAILED", 0)).as(outcomes.toString()).isZero();
            assertThat(outcomes.get("SUCCEEDED")).as("one successful run per fire time").isEqualTo(rows.size());
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
