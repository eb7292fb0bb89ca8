--liquibase formatted sql

--changeset backstop:010-restore-recovered-to
-- recovered_to: the point a point-in-time restore actually reached (its last replayed transaction), read from the restored server.
ALTER TABLE restores ADD COLUMN recovered_to TIMESTAMP WITH TIME ZONE;
--rollback ALTER TABLE restores DROP COLUMN recovered_to;
