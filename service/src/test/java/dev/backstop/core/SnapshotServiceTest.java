package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.Catalog;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotLayout;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.TimeOrderedId;
import dev.backstop.pipeline.CompressionConfig;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceReport;
import dev.backstop.source.directory.DirectorySourceFactory;
import dev.backstop.storage.StorageTarget;
import dev.backstop.storage.filesystem.FilesystemTargetFactory;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.jackson.Jackson;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot lifecycle on a real H2 catalog and filesystem target, without HTTP. */
class SnapshotServiceTest {
    @TempDir
    Path dir;

    private ManagedDataSource dataSource;
    private SnapshotDao dao;
    private StorageTarget target;
    private final CountDownLatch release = new CountDownLatch(1);
    private final ObjectMapper mapper = Jackson.newObjectMapper();

    @BeforeEach
    void setUp() throws Exception {
        DataSourceFactory factory = new DataSourceFactory();
        factory.setDriverClass("org.h2.Driver");
        factory.setUrl("jdbc:h2:" + dir.resolve("catalog"));
        factory.setUser("sa");
        dataSource = factory.build(new MetricRegistry(), "catalog");
        Catalog.migrate(dataSource);
        dao = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin()).onDemand(SnapshotDao.class);
        target = new FilesystemTargetFactory("fs", dir.resolve("backups")).build();
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/a.txt"), "a");
    }

    private final List<SnapshotService> services = new java.util.ArrayList<>();

    /** Lets a blocked snapshot finish and stops the services before the temp directory is deleted under them. */
    @AfterEach
    void tearDown() throws Exception {
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> dao.running("slow").isEmpty() && dao.running("files").isEmpty());
        for (SnapshotService service : services) {
            service.stop();
        }
        dataSource.stop();
    }

    private SnapshotService service() {
        SnapshotSource files = new DirectorySourceFactory(dev.backstop.source.SourceSettings.Shared.named("files"), dir.resolve("data"),
                null, null, null, null)
                .build(new SourceEnvironment(dir.resolve("staging")));
        SnapshotService service = new SnapshotService(dev.backstop.model.Node.standalone("test"), Map.of(
                "files", new SnapshotService.Binding(files, target),
                "slow", new SnapshotService.Binding(new BlockingSource(release), target)),
                dao, new SnapshotPipeline(new dev.backstop.pipeline.ObjectCodec(CompressionConfig.defaults(), null, null)), mapper, new MetricRegistry(),
                Clock.systemUTC(), "test", 2, null, java.time.Duration.ofSeconds(20),
                dev.backstop.resilience.ThreadPools.standalone(), null);
        services.add(service);
        return service;
    }

    @Test
    void startupMarksWhatACrashLeftRunningAsFailedAndRemovesWhatItWrote() throws Exception {
        SnapshotRow orphan = SnapshotRow.running(new TimeOrderedId(Clock.systemUTC()).next(), "files", "directory",
                SnapshotOrigin.SCHEDULE, null, java.time.Instant.now());
        dao.insert(orphan);
        // The process died after its data object and manifest were written, before the row was COMPLETED.
        String directory = SnapshotLayout.directory("files", orphan.id(), orphan.startedAt());
        target.put(SnapshotLayout.dataKey(directory, "tar.zst"), new byte[] {1, 2, 3}, "application/octet-stream");
        target.put(SnapshotLayout.manifestKey(directory), "{}".getBytes(), "application/json");
        service().start();
        SnapshotRow row = dao.find(orphan.id()).orElseThrow();
        assertThat(row.status()).isEqualTo(SnapshotStatus.FAILED);
        assertThat(row.error()).isEqualTo(SnapshotService.INTERRUPTED);
        assertThat(target.list("")).as("a FAILED snapshot leaves nothing in storage").isEmpty();
    }

    @Test
    void oneSnapshotPerSourceAtATime() throws Exception {
        SnapshotService service = service();
        SnapshotRow first = service.request("slow", SnapshotOrigin.API, "ops");
        assertThatThrownBy(() -> service.request("slow", SnapshotOrigin.API, "ops"))
                .isInstanceOfSatisfying(BackstopException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.CONFLICT);
                    assertThat(e.detail()).contains(first.id());
                });
        assertThat(service.takeNow("files", SnapshotOrigin.CLI, "cli").status()).as("other sources still run").isEqualTo(SnapshotStatus.COMPLETED);
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> dao.find(first.id()).orElseThrow().status() == SnapshotStatus.COMPLETED);
        assertThat(service.request("slow", SnapshotOrigin.API, "ops")).isNotNull();
        service.stop();
    }

    @Test
    void unknownSourceIsAValidationError() {
        assertThatThrownBy(() -> service().request("nope", SnapshotOrigin.API, "ops"))
                .isInstanceOfSatisfying(BackstopException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.VALIDATION_FAILED);
                    assertThat(e.detail()).contains("files", "slow");
                });
    }

    @Test
    void deleteRemovesObjectsThenMarksTheRow() throws Exception {
        SnapshotService service = service();
        SnapshotRow done = service.takeNow("files", SnapshotOrigin.CLI, "cli");
        assertThat(target.exists(done.storageKey())).isTrue();
        assertThat(target.exists(done.manifestKey())).isTrue();
        assertThat(mapper.readTree(target.open(done.manifestKey())).get("sha256").asText()).isEqualTo(done.sha256());

        SnapshotRow deleted = service.delete(done.id(), "ops");
        assertThat(deleted.status()).isEqualTo(SnapshotStatus.DELETED);
        assertThat(target.exists(done.storageKey())).isFalse();
        assertThat(target.exists(done.manifestKey())).isFalse();
        assertThat(target.list("")).isEmpty();
        assertThat(service.delete(done.id(), "ops").status()).as("idempotent").isEqualTo(SnapshotStatus.DELETED);
    }

    @Test
    void aRunningSnapshotCannotBeDeleted() {
        SnapshotService service = service();
        SnapshotRow running = service.request("slow", SnapshotOrigin.API, "ops");
        assertThatThrownBy(() -> service.delete(running.id(), "ops"))
                .isInstanceOfSatisfying(BackstopException.class, e -> assertThat(e.type()).isEqualTo(ProblemType.CONFLICT));
    }

    @Test
    void reasonsJoinTheCauseChainWithoutRepeats() {
        IOException root = new IOException("No space left on device");
        assertThat(SnapshotService.reason(new IOException("write failed", root))).isEqualTo("write failed: No space left on device");
        assertThat(SnapshotService.reason(new RuntimeException(root))).isEqualTo("java.io.IOException: No space left on device");
    }

    /** A source that writes a little, then waits until released: keeps a snapshot RUNNING on purpose. */
    private record BlockingSource(CountDownLatch release) implements SnapshotSource {
        @Override
        public String name() {
            return "slow";
        }

        @Override
        public String type() {
            return "directory";
        }

        @Override
        public String extension() {
            return "bin";
        }

        @Override
        public Map<String, String> toolVersions() {
            return Map.of();
        }

        @Override
        public SourceReport writeTo(OutputStream out) throws IOException {
            out.write("partial".getBytes());
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            return new SourceReport(List.of(), List.of());
        }

        @Override
        public void checkReachable() {}
    }
}
