package dev.backstop.model;

/** Where a restore is; COMPLETED, FAILED and CANCELLED are final. */
public enum RestorePhase {
    QUEUED, DOWNLOADING, VERIFYING, APPLYING, RECOVERING, COMPLETED, FAILED, CANCELLED;

    public boolean isFinal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }
}
