--liquibase formatted sql

--changeset backstop:007-snapshot-copies
-- Which storage targets hold each snapshot: the primary copy (COPIED when the snapshot completes)
-- and one row per replica target, PENDING until the replicator has copied and verified it.
CREATE TABLE snapshot_copies (
    snapshot_id      VARCHAR(26)   NOT NULL REFERENCES snapshots (id),
    target           VARCHAR(200)  NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    attempts         INTEGER       NOT NULL DEFAULT 0,
    copied_at        TIMESTAMP WITH TIME ZONE,
    next_attempt_at  TIMESTAMP WITH TIME ZONE,
    error            VARCHAR(4000),
    PRIMARY KEY (snapshot_id, target),
    CONSTRAINT snapshot_copies_status_check CHECK (status IN ('PENDING', 'COPIED', 'FAILED'))
);
CREATE INDEX snapshot_copies_target_status ON snapshot_copies (target, status);
INSERT INTO snapshot_copies (snapshot_id, target, status, copied_at)
    SELECT id, storage_target, 'COPIED', finished_at FROM snapshots WHERE status = 'COMPLETED' AND storage_target IS NOT NULL;
--rollback DROP TABLE snapshot_copies;
