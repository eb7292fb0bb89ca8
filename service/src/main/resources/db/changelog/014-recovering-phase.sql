--liquibase formatted sql

--changeset backstop:014-recovering-phase
-- RECOVERING: a point-in-time restore's server replays the archived log (bytes_done/bytes_total are
-- the WAL replayed of the WAL planned).
ALTER TABLE restores DROP CONSTRAINT restores_phase_check;
ALTER TABLE restores ADD CONSTRAINT restores_phase_check CHECK (phase IN ('QUEUED', 'DOWNLOADING', 'VERIFYING', 'APPLYING', 'RECOVERING', 'COMPLETED', 'FAILED', 'CANCELLED'));
--rollback ALTER TABLE restores DROP CONSTRAINT restores_phase_check; ALTER TABLE restores ADD CONSTRAINT restores_phase_check CHECK (phase IN ('QUEUED', 'DOWNLOADING', 'VERIFYING', 'APPLYING', 'COMPLETED', 'FAILED', 'CANCELLED'));
