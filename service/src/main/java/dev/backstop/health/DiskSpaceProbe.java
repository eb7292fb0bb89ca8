package dev.backstop.health;

import dev.backstop.model.DiskConfig;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Readiness: free space on the file system of every watched path, against warn and critical thresholds. */
public final class DiskSpaceProbe implements HealthProbe {
    private final DiskConfig config;

    public DiskSpaceProbe(DiskConfig config) {
        this.config = config;
    }

    @Override
    public String name() {
        return "disk";
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of(HealthEndpoint.READY);
    }

    @Override
    public String componentType() {
        return "system";
    }

    @Override
    public List<HealthObservation> observe(Instant now) throws IOException {
        List<HealthObservation> observations = new ArrayList<>();
        for (Path path : config.paths()) {
            FileStore store = Files.getFileStore(nearestExisting(path.toAbsolutePath().normalize()));
            long free = store.getUsableSpace();
            long total = store.getTotalSpace();
            double percent = total == 0 ? 0.0 : Math.round(1000.0 * free / total) / 10.0;
            HealthStatus status = statusFor(percent);
            String output = status == HealthStatus.PASS ? null : String.format(Locale.ROOT,
                    "%s has %.1f%% free (warn below %.1f%%, critical below %.1f%%)",
                    path, percent, config.warnFreePercent(), config.criticalFreePercent());
            observations.add(HealthObservation.of("disk", "free", now).id(path.toString()).type("system")
                    .value(free, "bytes").status(status, output));
            observations.add(HealthObservation.of("disk", "freePercent", now).id(path.toString()).type("system")
                    .value(percent, "percent").status(status, output));
        }
        return observations;
    }

    HealthStatus statusFor(double freePercent) {
        if (freePercent < config.criticalFreePercent()) {
            return HealthStatus.FAIL;
        }
        return freePercent < config.warnFreePercent() ? HealthStatus.WARN : HealthStatus.PASS;
    }

    /** A watched path may not exist yet (created on first snapshot); measure the file system it will live on. */
    private static Path nearestExisting(Path path) {
        Path candidate = path;
        while (candidate != null && !Files.exists(candidate)) {
            candidate = candidate.getParent();
        }
        return candidate == null ? path.getRoot() : candidate;
    }
}
