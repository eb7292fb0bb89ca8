--liquibase formatted sql

--changeset backstop:011-chunk-repository
-- The deduplicated repository of each storage target: packs of encoded chunks, where each chunk
-- lives, which packs each snapshot references, and (directory sources) each file's chunks so the
-- next snapshot can reuse them without reading the file.
CREATE TABLE repo_packs (
    target          VARCHAR(200)  NOT NULL,
    pack_key        VARCHAR(300)  NOT NULL,
    stored_bytes    BIGINT        NOT NULL,
    chunk_count     INTEGER       NOT NULL,
    status          VARCHAR(16)   NOT NULL,
    writer          VARCHAR(26)   NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    condemned_at    TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (target, pack_key),
    CONSTRAINT repo_packs_status_check CHECK (status IN ('PENDING', 'LIVE', 'CONDEMNED'))
);
CREATE INDEX repo_packs_status ON repo_packs (target, status);
CREATE TABLE repo_chunks (
    target          VARCHAR(200)  NOT NULL,
    chunk_id        VARCHAR(64)   NOT NULL,
    pack_key        VARCHAR(300)  NOT NULL,
    pack_offset     BIGINT        NOT NULL,
    stored_length   INTEGER       NOT NULL,
    raw_length      INTEGER       NOT NULL,
    stored_sha256   VARCHAR(64)   NOT NULL,
    PRIMARY KEY (target, chunk_id)
);
CREATE INDEX repo_chunks_pack ON repo_chunks (target, pack_key);
CREATE TABLE snapshot_packs (
    snapshot_id     VARCHAR(26)   NOT NULL,
    target          VARCHAR(200)  NOT NULL,
    pack_key        VARCHAR(300)  NOT NULL,
    PRIMARY KEY (snapshot_id, target, pack_key)
);
CREATE INDEX snapshot_packs_pack ON snapshot_packs (target, pack_key);
CREATE TABLE snapshot_files (
    snapshot_id     VARCHAR(26)   NOT NULL,
    dir_hash        VARCHAR(32)   NOT NULL,
    path            VARCHAR(4000) NOT NULL,
    size            BIGINT        NOT NULL,
    mtime_ns        BIGINT        NOT NULL,
    ctime_ns        BIGINT        NOT NULL,
    inode           BIGINT        NOT NULL,
    seq             INTEGER       NOT NULL,
    chunk_id        VARCHAR(64)   NOT NULL,
    raw_length      INTEGER       NOT NULL
);
CREATE INDEX snapshot_files_dir ON snapshot_files (snapshot_id, dir_hash);
CREATE TABLE repo_keys (
    key_id          VARCHAR(64)   NOT NULL PRIMARY KEY,
    key_material    VARCHAR(64)   NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
ALTER TABLE snapshots ADD COLUMN storage_format VARCHAR(16);
ALTER TABLE snapshots ADD COLUMN added_bytes BIGINT;
--rollback DROP TABLE repo_keys; DROP TABLE snapshot_files; DROP TABLE snapshot_packs; DROP TABLE repo_chunks; DROP TABLE repo_packs; ALTER TABLE snapshots DROP COLUMN storage_format; ALTER TABLE snapshots DROP COLUMN added_bytes;
