--liquibase formatted sql

--changeset backstop:012-verified-point
-- verified_point: the point in time a passing point-in-time drill restored this base backup to (postgres-cluster).
ALTER TABLE snapshots ADD COLUMN verified_point TIMESTAMP WITH TIME ZONE;
--rollback ALTER TABLE snapshots DROP COLUMN verified_point;
