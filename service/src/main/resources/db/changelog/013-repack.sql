--liquibase formatted sql

--changeset backstop:013-repack
-- Which chunks each snapshot names (a prune measures how much of a pack is still used, and rewrites
-- the packs that are mostly unused), which snapshots have that record complete (older ones are
-- never repacked), one prune at a time per target across nodes, and the chunk-list rewrites in
-- progress (a pass that died mid-way is finished by the next).
CREATE TABLE snapshot_chunks (
    snapshot_id     VARCHAR(26)   NOT NULL,
    target          VARCHAR(200)  NOT NULL,
    chunk_id        VARCHAR(64)   NOT NULL
);
CREATE INDEX snapshot_chunks_snapshot ON snapshot_chunks (snapshot_id);
CREATE INDEX snapshot_chunks_chunk ON snapshot_chunks (target, chunk_id);
CREATE TABLE snapshot_chunk_sets (
    snapshot_id     VARCHAR(26)   NOT NULL,
    target          VARCHAR(200)  NOT NULL,
    PRIMARY KEY (snapshot_id, target)
);
CREATE TABLE repo_locks (
    target          VARCHAR(200)  NOT NULL PRIMARY KEY,
    holder          VARCHAR(200)  NOT NULL,
    expires_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE TABLE repo_rewrites (
    snapshot_id     VARCHAR(26)   NOT NULL PRIMARY KEY,
    target          VARCHAR(200)  NOT NULL,
    old_sha256      VARCHAR(64)   NOT NULL,
    new_sha256      VARCHAR(64)   NOT NULL,
    new_bytes       BIGINT        NOT NULL,
    pack_count      INTEGER       NOT NULL,
    started_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
-- Every SHA-256 a snapshot's chunk list has had: a repack rewrites the list (same content, new
-- locations); a copy on a replica, or a restore that began before the rewrite, reads an earlier one.
CREATE TABLE snapshot_list_shas (
    snapshot_id     VARCHAR(26)   NOT NULL,
    sha256          VARCHAR(64)   NOT NULL,
    PRIMARY KEY (snapshot_id, sha256)
);
--rollback DROP TABLE snapshot_list_shas; DROP TABLE repo_rewrites; DROP TABLE repo_locks; DROP TABLE snapshot_chunk_sets; DROP TABLE snapshot_chunks;
