package dev.backstop.db;

import java.util.List;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.GetGeneratedKeys;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The append-only {@code audit_events} table. */
@RegisterConstructorMapper(AuditEvent.class)
public interface AuditDao {

    @SqlUpdate("""
            INSERT INTO audit_events (occurred_at, actor, action, subject_type, subject_id, outcome, detail)
            VALUES (:occurredAt, :actor, :action, :subjectType, :subjectId, :outcome, :detail)
            """)
    @GetGeneratedKeys("id")
    long append(@BindMethods AuditEvent event);

    @SqlQuery("""
            SELECT * FROM audit_events WHERE subject_type = :subjectType AND subject_id = :subjectId
            ORDER BY id
            """)
    List<AuditEvent> forSubject(@Bind("subjectType") String subjectType, @Bind("subjectId") String subjectId);

    /** The newest event about a subject (a job's last run). */
    @SqlQuery("""
            SELECT * FROM audit_events WHERE subject_type = :subjectType AND subject_id = :subjectId
            ORDER BY id DESC LIMIT 1
            """)
    java.util.Optional<AuditEvent> latestFor(@Bind("subjectType") String subjectType, @Bind("subjectId") String subjectId);

    /** Events of one action since a time, oldest first. */
    @SqlQuery("""
            SELECT * FROM audit_events WHERE action = :action AND occurred_at >= :since ORDER BY id
            """)
    List<AuditEvent> since(@Bind("action") String action, @Bind("since") java.time.Instant since);
}
