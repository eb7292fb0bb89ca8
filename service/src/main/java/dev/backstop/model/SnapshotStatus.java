package dev.backstop.model;

/** Lifecycle of a snapshot row. Only COMPLETED snapshots are restorable. */
public enum SnapshotStatus {
    RUNNING, COMPLETED, FAILED, CANCELLED, DELETED, PRUNED
}
