package dev.backstop.health;

import dev.backstop.resilience.Guard;
import java.util.ArrayList;

import dev.backstop.storage.StorageTarget;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * A storage target is reachable and writable: writes a small probe object, reads it back, deletes it.
 * A target that sources write their snapshots to takes part in readiness (the first one, and every
 * one named by a source's {@code target}); a target that only holds replicas shows in the detailed
 * view only.
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
        String message = String.valueOf(e.getMessage());
        if (message.contains("Unable to load credentials from any of the providers")) {
            // The SDK lists its whole provider chain (1,500 characters): say what to do instead.
            return "no S3 credentials: set the target's accessKeyId and secretAccessKey (from the environment), "
                    + "or give the host an instance role";
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null) {
            String kind = e.getClass().getSimpleName().replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
            return (kind.equals("file system") ? "cannot write" : kind) + ": " + fs.getFile();
        }
        if (e.getMessage() == null) {
            return e.getClass().getSimpleName();
        }
        return message.length() > 400 ? message.substring(0, 400) + "..." : message;
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        List<HealthObservation> observations = new ArrayList<>();
        Guard guard = target.guarded().orElse(null);
        StorageTarget raw = target.unretried();
        long started = System.nanoTime();
        HealthObservation.Builder entry = HealthObservation.of("storage", "writable", now).id(target.name()).type("datastore");
        byte[] probe = ("backstop health probe " + now).getBytes(StandardCharsets.UTF_8);
        try {
            // Without retries (health must answer quickly), but through the breaker: while it is
            // open this is refused at once, and once it half-opens the probe is its trial call.
            byte[] back = guard == null ? roundTrip(raw, probe) : guard.probe("health probe", () -> roundTrip(raw, probe));
            long millis = (System.nanoTime() - started) / 1_000_000;
            observations.add(Arrays.equals(probe, back) ? entry.value(millis, "ms").pass()
                    : entry.value(millis, "ms").status(HealthStatus.FAIL, "probe object read back differs from what was written"));
        } catch (Exception e) {
            observations.add(entry.value((System.nanoTime() - started) / 1_000_000, "ms")
                    .status(HealthStatus.FAIL, target.describe() + ": " + describe(e)));
        }
        if (guard != null) {
            HealthObservation.Builder breaker = HealthObservation.of("storage", "circuitBreaker", now).id(target.name())
                    .type("datastore").value(guard.state().name(), null);
            observations.add(switch (guard.state()) {
                case CLOSED -> breaker.pass();
                case HALF_OPEN -> breaker.status(HealthStatus.WARN, "half-open: trial calls decide whether it closes");
                case OPEN -> breaker.status(HealthStatus.FAIL, guard.openReason());
            });
        }
        return observations;
    }

    private static byte[] roundTrip(StorageTarget target, byte[] probe) throws java.io.IOException {
        target.put(PROBE_KEY, probe, "text/plain");
        byte[] back;
        try (var in = target.open(PROBE_KEY)) {
            back = in.readAllBytes();
        }
        target.delete(PROBE_KEY);
        return back;
    }
}
