--liquibase formatted sql

--changeset backstop:003-restore-detail
ALTER TABLE restores ADD COLUMN detail VARCHAR(4000);
--rollback ALTER TABLE restores DROP COLUMN detail;
