package dev.backstop.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.time.Instant;

/**
 * {@code verification.json} beside a snapshot's manifest: the outcome of its newest drill. The
 * manifest stays immutable; this small object is overwritten by each drill, so that a catalog
 * rebuilt from storage still knows which snapshots were proven (retention's floor depends on it).
 *
 * @param status {@code PASSED} or {@code FAILED}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record VerificationRecord(int formatVersion, String snapshotId, Instant verifiedAt, String status, String detail) {
    public static final int FORMAT_VERSION = 1;
}
