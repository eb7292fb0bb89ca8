package dev.backstop.model;

/** Outcome recorded on an audit row. */
public enum AuditOutcome {
    REQUESTED, SUCCEEDED, FAILED, REFUSED, CANCELLED
}
