package dev.backstop.health;

import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Detailed only: the age of a source's newest snapshot that passed a verification drill. Warns when
 * there is none yet, when it is older than {@code verify.maxAge}, or when the newest drill failed.
 */
public final class VerificationProbe implements HealthProbe {
    private final String source;
    private final SnapshotDao snapshots;
    private final Duration maxAge;

    public VerificationProbe(String source, SnapshotDao snapshots, Duration maxAge) {
        this.source = source;
        this.snapshots = snapshots;
        this.maxAge = maxAge;
    }

    @Override
    public String name() {
        return "verification-" + source;
    }

    @Override
    public Set<HealthEndpoint> endpoints() {
        return Set.of();
    }

    @Override
    public List<HealthObservation> observe(Instant now) {
        HealthObservation.Builder entry = HealthObservation.of("verification", "newestVerifiedAge", now).id(source).type("datastore");
        Optional<SnapshotRow> verified = snapshots.newestVerified(source);
        verified.ifPresent(row -> entry.value(Duration.between(row.verifiedAt(), now).toSeconds(), "s"));
        Optional<SnapshotRow> newest = snapshots.list(source, dev.backstop.model.SnapshotStatus.COMPLETED, null, 1).stream().findFirst();
        if (newest.isPresent() && "FAILED".equals(newest.get().verifyStatus())) {
            return List.of(entry.status(HealthStatus.WARN, "the newest snapshot " + newest.get().id() + " failed its drill: "
                    + newest.get().verifyDetail()));
        }
        if (verified.isEmpty()) {
            return List.of(entry.status(HealthStatus.WARN, "no snapshot of " + source + " has passed a verification drill yet"));
        }
        long age = Duration.between(verified.get().verifiedAt(), now).toSeconds();
        if (age > maxAge.toSeconds()) {
            return List.of(entry.status(HealthStatus.WARN, "the newest verified snapshot of " + source + " was verified "
                    + age / 3600 + " h ago, more than verify.maxAge " + maxAge));
        }
        return List.of(entry.pass());
    }
}
