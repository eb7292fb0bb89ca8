package dev.backstop.pruning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.Shell;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Disk pressure on a real 8 MiB tmpfs (needs root, as CI runs): crossing the critical threshold
 * fails readiness, triggers the tighter retention policy, and everything recovers once space is back.
 */
class DiskPressureTest {
    private final Path dir = TestApps.tempDir("backstop-disk");
    private final Path disk = dir.resolve("disk");
    private final YamlApps apps = new YamlApps(dir);

    @BeforeEach
    void mount() throws Exception {
        Files.createDirectories(disk);
        Shell.run(dir, "mount -t tmpfs -o size=8m tmpfs " + disk);
    }

    @AfterEach
    void unmount() throws Exception {
        apps.close();
        Shell.run(dir, "umount " + disk);
    }

    private static void write(Path file, int bytes) throws Exception {
        byte[] data = new byte[bytes];
        new Random(bytes).nextBytes(data);
        Files.write(file, data);
    }

    private static JsonNode snapshots(DropwizardTestSupport<BackstopConfiguration> app, String status) {
        return Http.get(YamlApps.api(app, "/snapshots?source=files&status=" + status), TestTokens.READER).json().get("items");
    }

    private static int ready(DropwizardTestSupport<BackstopConfiguration> app) {
        return Http.get(YamlApps.admin(app, "/health/ready"), null).status();
    }

    private static String diskStatus(DropwizardTestSupport<BackstopConfiguration> app) {
        JsonNode detailed = Http.get(YamlApps.admin(app, "/health/detailed"), null).json();
        return detailed.get("checks").get("disk:freePercent").get(0).get("status").asText();
    }

    private String pressureAudit() throws Exception {
        try (Connection c = apps.catalog();
                Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT outcome || ' ' || detail FROM audit_events WHERE action = 'disk.pressure'")) {
            return r.next() ? r.getString(1) : null;
        }
    }

    @Test
    void criticalDiskFailsReadinessPrunesToTheTighterPolicyAndRecovers() throws Exception {
        Files.createDirectories(dir.resolve("data"));
        write(dir.resolve("data/blob.bin"), 1 << 20); // incompressible: each snapshot stores about 1 MiB
        var app = apps.start("""
                disk: {paths: [%1$s/disk], warnFreePercent: 45, criticalFreePercent: 30}
                pruning: {onDiskPressure: true, checkInterval: 300ms, cooldown: 1h}
                storage:
                  targets:
                    - {type: filesystem, name: local, path: %1$s/disk/backups}
                """, """
                  - type: directory
                    name: files
                    format: object   # every snapshot a whole object: the disk arithmetic below counts them
                    path: %1$s/data
                    retention: {keepLast: 10, schedule: "0 0 0 1 1 ? 2099", onDiskPressure: {keepLast: 1}}
                """);
        for (int i = 0; i < 3; i++) {
            Http.Reply taken = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                    "{\"source\":\"files\"}");
            assertThat(taken.status()).as(taken.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(10)).until(() -> snapshots(app, "RUNNING").isEmpty());
        }
        assertThat(snapshots(app, "COMPLETED")).hasSize(3);
        await().atMost(Duration.ofSeconds(5)).until(() -> ready(app) == 200);

        // 3 MiB of snapshots + 4 MiB of other data: about 12% free, below critical.
        write(disk.resolve("filler-1"), 4 << 20);
        await().atMost(Duration.ofSeconds(10)).until(() -> snapshots(app, "PRUNED").size() == 2);
        assertThat(snapshots(app, "COMPLETED")).as("the disk-pressure policy keeps the newest only").hasSize(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> pressureAudit() != null);
        assertThat(pressureAudit()).startsWith("SUCCEEDED critical: [" + disk).contains("retention files: pruned 2, kept 1");
        await().atMost(Duration.ofSeconds(5)).until(() -> "warn".equals(diskStatus(app)));
        assertThat(ready(app)).as("warn still serves").isEqualTo(200);

        // Critical again within the cooldown: nothing more is deleted, readiness fails.
        write(disk.resolve("filler-2"), 2 << 20);
        await().atMost(Duration.ofSeconds(5)).until(() -> ready(app) == 503);
        assertThat(diskStatus(app)).isEqualTo("fail");
        assertThat(snapshots(app, "COMPLETED")).hasSize(1);

        Files.delete(disk.resolve("filler-1"));
        Files.delete(disk.resolve("filler-2"));
        await().atMost(Duration.ofSeconds(5)).until(() -> ready(app) == 200 && "pass".equals(diskStatus(app)));
        String metrics = Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
        assertThat(metrics).contains("backstop_disk_pressure_events_total 1.0").contains("backstop_disk_free_percent{");
    }
}
