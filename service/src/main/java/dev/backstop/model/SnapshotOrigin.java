package dev.backstop.model;

/**
 * What started a snapshot; REBUILT rows were recreated from manifests after the catalog was lost;
 * LOG_GAP snapshots were taken at once because the source's log archive lost a stretch (a
 * postgres-cluster whose WAL chain broke takes a new base backup so its window starts again).
 */
public enum SnapshotOrigin {
    SCHEDULE, API, CLI, REBUILT, LOG_GAP
}
