--liquibase formatted sql

--changeset backstop:002-snapshot-details
ALTER TABLE snapshots ADD COLUMN tool_versions VARCHAR(1000);
ALTER TABLE snapshots ADD COLUMN files_changed INTEGER;
ALTER TABLE snapshots ADD COLUMN files_vanished INTEGER;
--rollback ALTER TABLE snapshots DROP COLUMN files_vanished; ALTER TABLE snapshots DROP COLUMN files_changed; ALTER TABLE snapshots DROP COLUMN tool_versions;
