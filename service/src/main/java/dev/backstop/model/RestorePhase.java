package dev.backstop.model;

/** Where a restore is; COMPLETED, FAILED and CANCELLED are final. */
public enum RestorePhase {
    QUEUED, DOWNLOADING, VERIFYING, APPLYING, COMPLETED, FAILED, CANCELLED;

    public boolean isFinal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }
}
