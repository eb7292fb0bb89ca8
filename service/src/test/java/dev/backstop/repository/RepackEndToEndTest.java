package dev.backstop.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.snapshot.SnapshotTestSupport;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Repacking through the service: retention deletes a snapshot, the prune after it rewrites the
 * pack the deleted snapshot mostly used, the kept snapshot's chunk list and manifest follow, a
 * restore by REST call verifies against the catalog, and the next prune deletes the old pack; the
 * replica's copy, untouched, still restores when the primary's list is gone.
 */
class RepackEndToEndTest {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private YamlApps apps;

    @AfterEach
    void stop() {
        apps.close();
    }

    @Test
    void retentionDeletesAPruneRewritesTheMostlyUnusedPackAndTheKeptSnapshotStillRestores() throws Exception {
        Path dir = TestApps.tempDir("backstop-repack");
        byte[] big = randomData(dir, "big.bin", 41, 10 << 20);
        Path data = dir.resolve("data");
        DropwizardTestSupport<BackstopConfiguration> app = apps.start("""
                snapshots: {stagingPath: %1$s/staging, pruneGracePeriod: 0s}
                storage:
                  targets:
                    - {type: filesystem, name: local, path: %1$s/backups}
                    - {type: filesystem, name: offsite, path: %1$s/offsite}
                """, """
                  - {type: directory, name: files, path: %1$s/data, replicas: [offsite],
                     retention: {keepLast: 1, schedule: "0 0 0 1 1 ? 2099"}}
                """);
        JsonNode first = SnapshotTestSupport.snapshot(app.getLocalPort(), "files");
        Path backups = dir.resolve("backups");
        String oldPack = packsNamedBy(backups.resolve(first.get("dataKey").asText())).first();

        byte[] changed = new byte[6 << 20];
        new Random(42).nextBytes(changed);
        System.arraycopy(changed, 0, big, 0, changed.length); // the last 4 MiB stay: A's pack becomes mostly unused
        Files.write(data.resolve("big.bin"), big);
        TreeMap<String, String> atSecond = SnapshotTestSupport.tree(data);
        JsonNode second = SnapshotTestSupport.snapshot(app.getLocalPort(), "files");
        Path list = backups.resolve(second.get("dataKey").asText());
        Path replicaList = dir.resolve("offsite").resolve(second.get("dataKey").asText());
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(replicaList)
                && Files.exists(dir.resolve("offsite").resolve(second.get("manifestKey").asText())));
        String replicaListBefore = Files.readString(replicaList);
        assertThat(packsNamedBy(list)).as("the second snapshot reuses chunks of the first's pack").contains(oldPack);

        retention(app);
        assertThat(packsNamedBy(list)).as("the kept snapshot's list no longer names the rewritten pack").doesNotContain(oldPack);
        JsonNode kept = Http.get(YamlApps.api(app, "/snapshots/" + second.get("id").asText()), TestTokens.READER).json();
        String listSha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(list)));
        assertThat(kept.get("sha256").asText()).isEqualTo(listSha);
        assertThat(Files.readString(backups.resolve(second.get("manifestKey").asText()))).contains(listSha);
        assertThat(backups.resolve(oldPack)).as("condemned, kept for the grace period").exists();

        restoresTo(app, second.get("id").asText(), dir.resolve("restored-1"), atSecond);
        retention(app); // the grace period (0 s) has passed: the old pack goes
        assertThat(backups.resolve(oldPack)).doesNotExist();
        restoresTo(app, second.get("id").asText(), dir.resolve("restored-2"), atSecond);

        // The replica keeps its copy as written (its packs are its own); with the primary's list gone, a restore reads
        // the replica's, whose SHA-256 is the list's before the rewrite: still one the snapshot's list has had.
        assertThat(Files.readString(replicaList)).isEqualTo(replicaListBefore).contains(oldPack);
        assertThat(dir.resolve("offsite").resolve(oldPack)).exists();
        Files.delete(list);
        restoresTo(app, second.get("id").asText(), dir.resolve("restored-3"), atSecond);
    }

    /**
     * The catalog is lost while a prune has condemned a pack (kept for the grace period): the rebuild
     * indexes only the packs snapshots name, so it records the others as condemned, and the next
     * prune deletes them instead of leaving them in storage for ever; the kept snapshot restores.
     */
    @Test
    void aPackCondemnedBeforeTheCatalogWasLostIsDeletedByAPruneAfterTheRebuild() throws Exception {
        Path dir = TestApps.tempDir("backstop-rebuilt-packs");
        byte[] content = randomData(dir, "a.bin", 43, 3 << 20);
        Path data = dir.resolve("data");
        String extra = """
                snapshots: {stagingPath: %1$s/staging, pruneGracePeriod: 0s}
                """;
        String sources = """
                  - {type: directory, name: files, path: %1$s/data, retention: {keepLast: 1, schedule: "0 0 0 1 1 ? 2099"}}
                """;
        DropwizardTestSupport<BackstopConfiguration> app = apps.start(extra, sources);
        Path backups = dir.resolve("backups");
        JsonNode first = SnapshotTestSupport.snapshot(app.getLocalPort(), "files");
        java.util.TreeSet<String> firstPacks = packsNamedBy(backups.resolve(first.get("dataKey").asText()));
        new Random(44).nextBytes(content);
        Files.write(data.resolve("a.bin"), content);
        TreeMap<String, String> atSecond = SnapshotTestSupport.tree(data);
        JsonNode second = SnapshotTestSupport.snapshot(app.getLocalPort(), "files");
        retention(app); // the first snapshot goes; its pack (repacked, when the second used a little of it) is condemned
        java.util.TreeSet<String> kept = packsNamedBy(backups.resolve(second.get("dataKey").asText()));
        java.util.TreeSet<String> condemned = new java.util.TreeSet<>(firstPacks);
        condemned.removeAll(kept);
        assertThat(condemned).as("packs only the deleted snapshot used").isNotEmpty()
                .allSatisfy(pack -> assertThat(backups.resolve(pack)).as("kept for the grace period").exists());

        apps.stop(app);
        Files.delete(dir.resolve("catalog.mv.db"));
        app = apps.start(extra, sources);
        Http.Reply rebuilt = Http.send("POST", YamlApps.admin(app, "/tasks/rebuild-catalog"), null, null, null);
        assertThat(rebuilt.status()).as(rebuilt.body()).isEqualTo(200);
        assertThat(rebuilt.body()).contains("1 snapshots added").contains(condemned.size() + " packs no snapshot names");

        retention(app);
        assertThat(condemned).allSatisfy(pack -> assertThat(backups.resolve(pack)).doesNotExist());
        assertThat(kept).allSatisfy(pack -> assertThat(backups.resolve(pack)).exists());
        restoresTo(app, second.get("id").asText(), dir.resolve("restored"), atSecond);
    }

    /** Apps on {@code dir}, and {@code data/<name>} of {@code size} random bytes; returns the bytes. */
    private byte[] randomData(Path dir, String name, long seed, int size) throws java.io.IOException {
        apps = new YamlApps(dir);
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        Files.write(Files.createDirectories(dir.resolve("data")).resolve(name), bytes);
        return bytes;
    }

    private static java.util.TreeSet<String> packsNamedBy(Path list) throws Exception {
        java.util.TreeSet<String> packs = new java.util.TreeSet<>();
        for (String line : Files.readAllLines(list)) {
            packs.add(JSON.readTree(line).get("pack").asText());
        }
        return packs;
    }

    private static void retention(DropwizardTestSupport<BackstopConfiguration> app) {
        String before = lastRun(app);
        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/retention.files/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> !lastRun(app).equals(before));
    }

    private static String lastRun(DropwizardTestSupport<BackstopConfiguration> app) {
        JsonNode job = Http.get(YamlApps.api(app, "/jobs/retention.files"), TestTokens.READER).json();
        return job.has("lastRun") ? job.get("lastRun").toString() : "";
    }

    private static void restoresTo(DropwizardTestSupport<BackstopConfiguration> app, String snapshotId, Path path,
            TreeMap<String, String> expected) throws Exception {
        Http.Reply accepted = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json",
                "{\"snapshotId\": \"%s\", \"target\": {\"path\": \"%s\"}, \"mode\": \"new\"}".formatted(snapshotId, path));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = Http.get(location, TestTokens.READER).json();
            return last[0].get("phase").asText().matches("COMPLETED|FAILED|CANCELLED");
        });
        assertThat(last[0].get("phase").asText()).as(last[0].toString()).isEqualTo("COMPLETED");
        assertThat(SnapshotTestSupport.tree(path)).isEqualTo(expected);
    }
}
