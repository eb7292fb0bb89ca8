package dev.backstop.pruning;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.DiskConfig;
import dev.backstop.model.RetentionPolicy;
import dev.backstop.source.directory.DirectorySourceFactory;
import io.dropwizard.util.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** In archival mode, and with pruning.onDiskPressure off, a critical disk is only reported: nothing is deleted. */
class ArchivalModeTest {
    @TempDir
    Path dir;

    private DiskPressureMonitor monitor(boolean onDiskPressure, boolean archival, MetricRegistry metrics) throws Exception {
        Path staging = Files.createDirectories(dir.resolve("staging"));
        Files.writeString(staging.resolve("leftover"), "x");
        Files.setLastModifiedTime(staging.resolve("leftover"), java.nio.file.attribute.FileTime.fromMillis(0));
        // Every disk is below 100% free, so this one is always critical.
        DiskConfig disk = new DiskConfig(List.of(dir), 100.0, 99.99);
        PruningConfig pruning = new PruningConfig(onDiskPressure, archival, Duration.seconds(1), Duration.hours(1),
                Duration.minutes(1), List.of());
        RetentionPolicy tight = RetentionPolicy.of(1, 0, 0, 0, 0, 0, null, 1);
        DirectorySourceFactory files = new DirectorySourceFactory(new dev.backstop.source.SourceSettings.Shared("files", null,
                null, null, null, new RetentionPolicy(null, null, null, null, null, null, null, null, null, null, tight), null), dir, null,
                null, null, null);
        // Neither retention nor the data pruner may be touched on these paths: null makes any use fail the test.
        return new DiskPressureMonitor(disk, pruning, staging, List.of(files), null,
                new DataPruner(List.of(), java.util.Map.of(), null, metrics, Clock.systemUTC()), null, metrics, Clock.systemUTC(),
                dev.backstop.resilience.ThreadPools.standalone());
    }

    @Test
    void archivalModeOnlyAlerts() throws Exception {
        MetricRegistry metrics = new MetricRegistry();
        assertThat(monitor(true, true, metrics).check()).containsExactly("alerted (archival mode)");
        assertThat(dir.resolve("staging/leftover")).as("staging untouched").exists();
        assertThat(metrics.meter("backstop.disk.pressure.events").getCount()).isEqualTo(1);
    }

    @Test
    void withoutOnDiskPressureNothingIsDeleted() throws Exception {
        assertThat(monitor(false, false, new MetricRegistry()).check()).containsExactly("alerted (pruning.onDiskPressure off)");
        assertThat(dir.resolve("staging/leftover")).exists();
    }

    @Test
    void cooldownHoldsBackASecondResponse() throws Exception {
        DiskPressureMonitor monitor = monitor(true, true, new MetricRegistry());
        assertThat(monitor.check()).isNotEmpty();
        assertThat(monitor.check()).as("within pruning.cooldown").isEmpty();
    }
}
