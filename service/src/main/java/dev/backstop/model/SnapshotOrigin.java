package dev.backstop.model;

/** What started a snapshot; REBUILT rows were recreated from manifests after the catalog was lost. */
public enum SnapshotOrigin {
    SCHEDULE, API, CLI, REBUILT
}
