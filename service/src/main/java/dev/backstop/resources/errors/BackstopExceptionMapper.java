package dev.backstop.resources.errors;

import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/** Domain errors: their type and detail were written for the caller. */
@Provider
public final class BackstopExceptionMapper implements ExceptionMapper<BackstopException> {
    @Context
    private UriInfo uri;

    @Override
    public Response toResponse(BackstopException e) {
        Response response = Problems.response(e.type(), e.detail(), uri);
        if (e instanceof dev.backstop.resources.TokenRateLimit.RateLimited limited) {
            return Response.fromResponse(response).header("Retry-After", limited.retryAfterSeconds()).build();
        }
        if (e.type() == ProblemType.PAYLOAD_TOO_LARGE) {
            // The rest of the body is never read, so the server closes the connection after this
            // answer: say so, or a client's pool may send its next request down the closing connection.
            return Response.fromResponse(response).header("Connection", "close").build();
        }
        return response;
    }
}
