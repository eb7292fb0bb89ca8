package dev.backstop.db;

import dev.backstop.model.AuditOutcome;
import java.time.Instant;

/** A row of {@code audit_events}: who did what to which thing, when, and how it ended. */
public record AuditEvent(
        Long id,
        Instant occurredAt,
        String actor,
        String action,
        String subjectType,
        String subjectId,
        AuditOutcome outcome,
        String detail) {
}
