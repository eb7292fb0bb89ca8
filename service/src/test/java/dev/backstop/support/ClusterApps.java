package dev.backstop.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.BackstopConfiguration;
import dev.backstop.source.pgcluster.PgServer;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixture of the postgres-cluster tests: a private PostgreSQL 15 cluster ({@link TestCluster}),
 * a directory its OS user can enter, the service instances started on it ({@link YamlApps}), and
 * the restored servers the tests start; {@link #close()} stops and removes all of them.
 */
public final class ClusterApps implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    public final TestCluster cluster;
    public final Path dir;
    public final YamlApps apps;
    /** The postgres role's password on a cluster that asks for one (scram-sha-256); null with trust. */
    public final String password;
    private final List<PgServer> restored = new ArrayList<>();

    private ClusterApps(TestCluster cluster, Path dir, String password) {
        this.cluster = cluster;
        this.dir = dir;
        this.password = password;
        this.apps = new YamlApps(dir);
    }

    /** A cluster started with {@code settings} (postgresql.conf lines) and an empty directory named after {@code prefix}. */
    public static ClusterApps start(String prefix, String... settings) throws Exception {
        return startWithPassword(prefix, null, settings);
    }

    /** As {@link #start}, on a cluster where every connection, replication too, needs {@code password} (scram-sha-256). */
    public static ClusterApps startWithPassword(String prefix, String password, String... settings) throws Exception {
        TestCluster cluster = TestCluster.startWithPassword(password, settings);
        try {
            return new ClusterApps(cluster, TestCluster.openDirectory(prefix), password);
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
    }

    /** The {@code sources[]} entry of source {@code main} on the test cluster, with further {@code keys} ("k: v, ..."). */
    public String source(String keys) {
        return "  - {type: postgres-cluster, name: main, port: " + cluster.port() + ", user: postgres, binDirectory: " + TestCluster.BIN
                + (password == null ? "" : ", password: \"" + password + "\"") + (keys.isEmpty() ? "" : ", " + keys) + "}\n";
    }

    /** Starts the service with the filesystem target and {@link #source(String)}. */
    public DropwizardTestSupport<BackstopConfiguration> startApp(String keys) throws Exception {
        return apps.start("", source(keys).replace("%", "%%"));
    }

    /** Waits until {@code status.json} of the filesystem target says the WAL archive reaches past {@code instant}. */
    public void awaitCovered(Instant instant) {
        Path status = dir.resolve("backups/main/wal/status.json");
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            if (!Files.exists(status)) {
                return false;
            }
            JsonNode s = JSON.readTree(status.toFile());
            return s.hasNonNull("coveredUntil") && Instant.parse(s.get("coveredUntil").asText()).isAfter(instant);
        });
    }

    /** Takes a base backup of {@code main} by REST call and asserts it COMPLETED; returns its id. */
    public static String snapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        JsonNode row = awaitSnapshot(app);
        assertThat(row.get("status").asText()).as(row.toString()).isEqualTo("COMPLETED");
        return row.get("id").asText();
    }

    /** Asks for a base backup of {@code main} and returns its row once it is no longer RUNNING. */
    public static JsonNode awaitSnapshot(DropwizardTestSupport<BackstopConfiguration> app) {
        String id = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"main\"}").json().get("id").asText();
        await().atMost(Duration.ofSeconds(180)).until(() -> !Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER)
                .json().get("status").asText().equals("RUNNING"));
        return Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
    }

    /** Awaits an accepted (202) restore until it COMPLETED or FAILED; returns its final row. */
    public static JsonNode awaitRestore(Http.Reply accepted) {
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        await().atMost(Duration.ofSeconds(180)).until(() -> {
            String phase = Http.get(location, TestTokens.READER).json().get("phase").asText();
            return phase.equals("COMPLETED") || phase.equals("FAILED");
        });
        return Http.get(location, TestTokens.READER).json();
    }

    /**
     * Runs the README's stock-tool recovery block (no Backstop: cp, zstd, tar, restore_command,
     * pg_ctl) as the server's OS user against a copy of the filesystem target, for base backup
     * {@code snapshotId} and the point {@code point}; returns the recovered server, promoted.
     */
    public PgServer stockToolRecovery(DropwizardTestSupport<BackstopConfiguration> app, String snapshotId, Instant point)
            throws Exception {
        return stockToolRecovery(Http.get(YamlApps.api(app, "/snapshots/" + snapshotId), TestTokens.READER).json().get("dataKey").asText(),
                point);
    }

    /** As {@link #stockToolRecovery(DropwizardTestSupport, String, Instant)}, for the base backup stored under {@code dataKey}. */
    public PgServer stockToolRecovery(String dataKey, Instant point) throws Exception {
        return stockToolRecovery("stock-pitr", dir.resolve("backups/main"), dataKey, "main/2026/12/02/<id>/data.tar.chunks.jsonl", point,
                work -> { }, java.util.Map.of());
    }

    /** Prepares the working directory of a stock-tool recovery (a key file, a passphrase file). */
    public interface Preparation {
        void prepare(Path work) throws Exception;
    }

    /**
     * Runs the README block between {@code <!-- marker:begin -->} and {@code <!-- marker:end -->}
     * verbatim (but the base backup's key, the point and the port) as the server's OS user, in a
     * directory holding a copy of the source's storage tree {@code tree} as {@code main/}; returns
     * the recovered server, promoted.
     */
    public PgServer stockToolRecovery(String marker, Path tree, String dataKey, String placeholderKey, Instant point,
            Preparation preparation, java.util.Map<String, String> env) throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String block = readme.substring(readme.indexOf("<!-- " + marker + ":begin -->"), readme.indexOf("<!-- " + marker + ":end -->"));
        block = block.lines().filter(l -> !l.startsWith("```") && !l.startsWith("<!--")).collect(java.util.stream.Collectors.joining("\n"));
        int port = TestCluster.freePort();
        assertThat(block).contains(placeholderKey);
        block = block.replace(placeholderKey, dataKey)
                .replace("2026-12-02 14:30:00+01", java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSxxx")
                        .format(point.atOffset(java.time.ZoneOffset.ofHours(1))))
                .replace("55432", Integer.toString(port));
        Path work = dir.resolve(marker);
        Files.createDirectories(work);
        Shell.run(dir, "cp -r '" + tree + "' '" + work.resolve("main") + "'");
        if (Files.isDirectory(tree.resolveSibling("repository"))) { // the chunks of the base backup
            Shell.run(dir, "cp -r '" + tree.resolveSibling("repository") + "' '" + work.resolve("repository") + "'");
        }
        Files.writeString(work.resolve("recover.sh"), block + "\n");
        preparation.prepare(work);
        TestCluster.tools().handOver(work);
        List<String> command = new ArrayList<>(List.of("env", "PATH=" + TestCluster.BIN + ":/usr/bin:/bin"));
        env.forEach((k, v) -> command.add(k + "=" + v));
        command.addAll(List.of("bash", "-euo", "pipefail", "recover.sh"));
        Shell.run(work, String.join(" ", TestCluster.tools().asServerUser(command)));
        PgServer server = restored(work.resolve("restored"), port);
        server.awaitReady("postgres", password, true, Duration.ofSeconds(120));
        return server;
    }

    /** The restored server in {@code data} on {@code port}, stopped by {@link #close()}. */
    public PgServer restored(Path data, int port) {
        PgServer server = new PgServer(TestCluster.tools(), data, port);
        restored.add(server);
        return server;
    }

    @Override
    public void close() throws Exception {
        apps.close();
        for (PgServer server : restored) {
            server.stop("immediate");
        }
        cluster.close();
        dev.backstop.source.FileTrees.delete(dir);
    }
}
