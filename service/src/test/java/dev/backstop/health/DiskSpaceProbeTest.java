package dev.backstop.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.model.DiskConfig;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskSpaceProbeTest {
    @TempDir
    Path dir;

    @Test
    void thresholdsMapToStatuses() {
        DiskSpaceProbe probe = new DiskSpaceProbe(new DiskConfig(List.of(dir), 10.0, 5.0));
        assertThat(probe.statusFor(50)).isEqualTo(HealthStatus.PASS);
        assertThat(probe.statusFor(10)).isEqualTo(HealthStatus.PASS);
        assertThat(probe.statusFor(9.9)).isEqualTo(HealthStatus.WARN);
        assertThat(probe.statusFor(4.9)).isEqualTo(HealthStatus.FAIL);
    }

    @Test
    void reportsFreeBytesAndPercentForEachPathEvenBeforeItExists() throws Exception {
        Path missing = dir.resolve("not/yet/created");
        List<HealthObservation> observations = new DiskSpaceProbe(new DiskConfig(List.of(dir, missing), 10.0, 5.0))
                .observe(Instant.now());
        assertThat(observations).hasSize(4);
        assertThat(observations).extracting(HealthObservation::key)
                .containsExactly("disk:free", "disk:freePercent", "disk:free", "disk:freePercent");
        assertThat((Long) observations.get(0).observedValue()).isPositive();
        assertThat(observations.get(2).componentId()).isEqualTo(missing.toString());
    }

    @Test
    void aMachineWithTooLittleFreeSpaceFails() throws Exception {
        // 100% as critical: no real disk has that much free, so this exercises the fail path for real.
        List<HealthObservation> observations = new DiskSpaceProbe(new DiskConfig(List.of(dir), 100.0, 99.99))
                .observe(Instant.now());
        assertThat(observations).allSatisfy(o -> {
            assertThat(o.status()).isEqualTo(HealthStatus.FAIL);
            assertThat(o.output()).contains("free").contains("critical below");
        });
    }
}
