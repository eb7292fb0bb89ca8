package dev.backstop.source.pgcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.pipeline.CompressionConfig;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.source.FileTrees;
import dev.backstop.storage.filesystem.FilesystemTarget;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The feeder against a real segment and real pg_waldump, with this test in the server's place
 * (it writes the {@code want} file and takes what the feeder hands over). At its end recovery asks
 * again for the segment holding the last record it replayed, while the stored {@code .partial}
 * copy may have grown since the first fetch: the point checked stays what the first copy held,
 * the one recovery replayed (reading the newer copy made a restore to latest fail with "recovery
 * stopped short" while the source wrote).
 */
class WalFeederTest {
    @Test
    void aSegmentAskedForAgainIsServedAgainButTheCheckedPointStaysTheFirstCopys() throws Exception {
        Path dir = TestApps.tempDir("backstop-feeder");
        try (TestCluster cluster = TestCluster.start()) {
            cluster.sql("CREATE TABLE orders (id int)", "INSERT INTO orders VALUES (1)");
            String segment;
            try (var c = cluster.connect(); var s = c.createStatement();
                    var r = s.executeQuery("SELECT pg_walfile_name(pg_current_wal_lsn())")) {
                r.next();
                segment = r.getString(1);
            }
            Path live = cluster.dataDirectory().resolve("pg_wal").resolve(segment);
            Path storage = Files.createDirectories(dir.resolve("storage"));
            String key = "main/wal/00000001/" + segment + ".partial.zst";
            store(live, storage.resolve(key), dir);
            Instant between = cluster.now();
            cluster.sql("INSERT INTO orders VALUES (2)"); // into the same segment: a newer copy of the partial has it

            WalArchive archive = new WalArchive("main", new FilesystemTarget("fs", storage), new ObjectCodec(CompressionConfig.defaults(),
                    null, null));
            Path restore = Files.createDirectories(dir.resolve("backstop_restore"));
            Path wal = Files.createDirectories(restore.resolve("wal"));
            CommitScan scan = new CommitScan(0, null);
            WalFeeder feeder = new WalFeeder(archive, TestCluster.tools(), restore, List.of(new WalReplay.Entry(segment, key)), Map.of(),
                    16L << 20, scan, "feeder-test");
            try {
                feeder.start((done, total) -> { }, null);
                Files.writeString(restore.resolve("want"), segment + " 101\n");
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(wal.resolve(segment)));
                Files.delete(wal.resolve(segment)); // recovery took it

                store(live, storage.resolve(key), dir); // the archiver stored the grown partial meanwhile
                Files.writeString(restore.resolve("want"), segment + " 102\n"); // asked for again
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(wal.resolve(segment)));
            } finally {
                feeder.close();
            }
            assertThat(feeder.failure()).isNull();
            CommitScan.Expected expected = scan.expected(List.of(segment));
            assertThat(expected.point()).as("the first copy's last commit").isNotNull().isBefore(between);
        } finally {
            FileTrees.delete(dir);
        }
    }

    private static void store(Path segment, Path key, Path dir) throws Exception {
        Files.createDirectories(key.getParent());
        dev.backstop.support.Shell.run(dir, "zstd -q -f -o '" + key + "' '" + segment + "'");
    }
}
