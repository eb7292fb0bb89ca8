--liquibase formatted sql

--changeset backstop:008-cancel-and-progress
-- CANCELLED: an operator stopped the run (cleaned up exactly as a failure); phase_started_at: when
-- a restore entered its current phase, for the ETA of that phase.
ALTER TABLE snapshots DROP CONSTRAINT snapshots_status_check;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_status_check CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETED', 'PRUNED'));
ALTER TABLE restores DROP CONSTRAINT restores_phase_check;
ALTER TABLE restores ADD CONSTRAINT restores_phase_check CHECK (phase IN ('QUEUED', 'DOWNLOADING', 'VERIFYING', 'APPLYING', 'COMPLETED', 'FAILED', 'CANCELLED'));
ALTER TABLE restores ADD COLUMN phase_started_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE audit_events DROP CONSTRAINT audit_outcome_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_outcome_check CHECK (outcome IN ('REQUESTED', 'SUCCEEDED', 'FAILED', 'REFUSED', 'CANCELLED'));
--rollback ALTER TABLE audit_events DROP CONSTRAINT audit_outcome_check; ALTER TABLE audit_events ADD CONSTRAINT audit_outcome_check CHECK (outcome IN ('REQUESTED', 'SUCCEEDED', 'FAILED', 'REFUSED')); ALTER TABLE restores DROP COLUMN phase_started_at; ALTER TABLE restores DROP CONSTRAINT restores_phase_check; ALTER TABLE restores ADD CONSTRAINT restores_phase_check CHECK (phase IN ('QUEUED', 'DOWNLOADING', 'VERIFYING', 'APPLYING', 'COMPLETED', 'FAILED')); ALTER TABLE snapshots DROP CONSTRAINT snapshots_status_check; ALTER TABLE snapshots ADD CONSTRAINT snapshots_status_check CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'DELETED', 'PRUNED'));
