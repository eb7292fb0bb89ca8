--liquibase formatted sql

--changeset backstop:006-scheduling
-- Which node runs a snapshot, for which scheduled fire time, and a column that is only set while the
-- row is RUNNING: its unique index keeps a source to one running snapshot across a whole cluster
-- (NULLs do not collide). One row per (source, fire time) makes a recovered job take over its row.
ALTER TABLE snapshots ADD COLUMN node VARCHAR(200);
ALTER TABLE snapshots ADD COLUMN scheduled_for TIMESTAMP WITH TIME ZONE;
ALTER TABLE snapshots ADD COLUMN running_source VARCHAR(200);
CREATE UNIQUE INDEX snapshots_one_running ON snapshots (running_source);
CREATE UNIQUE INDEX snapshots_fire_time ON snapshots (source_name, scheduled_for);
-- The newest verification drill: PASSED or FAILED, with what it found.
ALTER TABLE snapshots ADD COLUMN verify_status VARCHAR(16);
ALTER TABLE snapshots ADD COLUMN verify_detail VARCHAR(4000);
ALTER TABLE snapshots ADD CONSTRAINT snapshots_verify_check CHECK (verify_status IS NULL OR verify_status IN ('PASSED', 'FAILED'));
ALTER TABLE restores ADD COLUMN node VARCHAR(200);
--rollback ALTER TABLE restores DROP COLUMN node; ALTER TABLE snapshots DROP CONSTRAINT snapshots_verify_check; ALTER TABLE snapshots DROP COLUMN verify_detail; ALTER TABLE snapshots DROP COLUMN verify_status; DROP INDEX snapshots_fire_time; DROP INDEX snapshots_one_running; ALTER TABLE snapshots DROP COLUMN running_source; ALTER TABLE snapshots DROP COLUMN scheduled_for; ALTER TABLE snapshots DROP COLUMN node;
