package dev.backstop.resources.errors;

import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import org.jdbi.v3.core.ConnectionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The catalog database cannot be reached (down, restarting, or its breaker open after repeated
 * failures): 503 with the reason and {@code Retry-After}, not a 500, since nothing is wrong with
 * the request and it will work again on its own.
 */
@Provider
public final class CatalogUnavailableMapper implements ExceptionMapper<ConnectionException> {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogUnavailableMapper.class);

    @Context
    private UriInfo uri;

    @Override
    public Response toResponse(ConnectionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        LOG.warn("Catalog unavailable for {}: {}", uri == null ? "?" : uri.getPath(), reason);
        return Response.fromResponse(Problems.response(ProblemType.SERVICE_UNAVAILABLE,
                "the catalog database is unavailable: " + reason + "; retry shortly", uri)).header("Retry-After", "5").build();
    }
}
