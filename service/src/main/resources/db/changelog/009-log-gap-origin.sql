--liquibase formatted sql

--changeset backstop:009-log-gap-origin
ALTER TABLE snapshots DROP CONSTRAINT snapshots_origin_check;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_origin_check CHECK (origin IN ('SCHEDULE', 'API', 'CLI', 'REBUILT', 'LOG_GAP'));
--rollback ALTER TABLE snapshots DROP CONSTRAINT snapshots_origin_check; ALTER TABLE snapshots ADD CONSTRAINT snapshots_origin_check CHECK (origin IN ('SCHEDULE', 'API', 'CLI', 'REBUILT'));
