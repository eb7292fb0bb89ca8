package dev.backstop.core;

/** Where a restore is; COMPLETED and FAILED are final. */
public enum RestorePhase {
    QUEUED, DOWNLOADING, VERIFYING, APPLYING, COMPLETED, FAILED;

    public boolean isFinal() {
        return this == COMPLETED || this == FAILED;
    }
}
