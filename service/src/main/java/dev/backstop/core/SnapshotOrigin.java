package dev.backstop.core;

/** What started a snapshot. */
public enum SnapshotOrigin {
    SCHEDULE, API, CLI
}
