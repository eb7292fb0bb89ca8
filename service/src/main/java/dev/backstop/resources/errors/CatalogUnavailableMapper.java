package dev.backstop.resources.errors;

import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.sql.SQLException;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The catalog database cannot be reached, or dropped the connection mid-statement (down,
 * restarting, or its breaker open after repeated failures): 503 with the reason and
 * {@code Retry-After}, not a 500, since nothing is wrong with the request and it will work again on
 * its own. Statements are not retried here (a write could happen twice); the client retries. Any
 * other catalog error is a bug: 500 with an error id.
 */
@Provider
public final class CatalogUnavailableMapper implements ExceptionMapper<JdbiException> {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogUnavailableMapper.class);

    @Context
    private UriInfo uri;

    @Override
    public Response toResponse(JdbiException e) {
        if (!(e instanceof ConnectionException) && !connectionLost(e)) {
            return UnexpectedExceptionMapper.unexpected(e, uri);
        }
        Throwable cause = e.getCause() == null ? e : e.getCause();
        String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        LOG.warn("Catalog unavailable for {}: {}", uri == null ? "?" : uri.getPath(), reason);
        return Response.fromResponse(Problems.response(ProblemType.SERVICE_UNAVAILABLE,
                "the catalog database is unavailable: " + reason + "; retry shortly", uri)).header("Retry-After", "5").build();
    }

    /** SQLState class 08 (connection exception) or 57P (the server is shutting down or starting up). */
    static boolean connectionLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }
}
