--liquibase formatted sql

--changeset backstop:004-rebuilt-origin
ALTER TABLE snapshots DROP CONSTRAINT snapshots_origin_check;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_origin_check CHECK (origin IN ('SCHEDULE', 'API', 'CLI', 'REBUILT'));
--rollback ALTER TABLE snapshots DROP CONSTRAINT snapshots_origin_check; ALTER TABLE snapshots ADD CONSTRAINT snapshots_origin_check CHECK (origin IN ('SCHEDULE', 'API', 'CLI'));
