package dev.backstop.health;

import dev.backstop.storage.StorageTarget;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * A storage target is reachable and writable: writes a small probe object, reads it back, deletes it.
 * The primary target (the first) takes part in readiness; others show in the detailed view only.
 */
public final class StorageProbe implements HealthProbe {
    static final String PROBE_KEY = ".backstop-probe";

    private final StorageTarget target;
    private final boolean primary;

    public StorageProbe(StorageTarget target, boolean primary) {
        this.target = target;
        this.primary = primary;
    }

    @Override
    public String name() {
        return "storage-" + target.name();
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return primary ? Set.of(HealthEndpoint.READY) : Set.of();
    }

    @Override
    public String componentType() {
        return "datastore";
    }

    /** NIO exceptions often carry only a path; say what happened to it too. */
    static String describe(Exception e) {
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null) {
            String kind = e.getClass().getSimpleName().replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
            return (kind.equals("file system") ? "cannot write" : kind) + ": " + fs.getFile();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        long started = System.nanoTime();
        HealthObservation.Builder entry = HealthObservation.of("storage", "writable", now).id(target.name()).type("datastore");
        byte[] probe = ("backstop health probe " + now).getBytes(StandardCharsets.UTF_8);
        try {
            target.put(PROBE_KEY, probe, "text/plain");
            byte[] back;
            try (var in = target.open(PROBE_KEY)) {
                back = in.readAllBytes();
            }
            target.delete(PROBE_KEY);
            long millis = (System.nanoTime() - started) / 1_000_000;
            if (!Arrays.equals(probe, back)) {
                return List.of(entry.value(millis, "ms").status(HealthStatus.FAIL, "probe object read back differs from what was written"));
            }
            return List.of(entry.value(millis, "ms").pass());
        } catch (Exception e) {
            return List.of(entry.value((System.nanoTime() - started) / 1_000_000, "ms")
                    .status(HealthStatus.FAIL, target.describe() + ": " + describe(e)));
        }
    }
}
