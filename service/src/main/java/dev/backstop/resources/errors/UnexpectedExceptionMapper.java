package dev.backstop.resources.errors;

import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Anything unexpected: logged with an id; the caller gets that id and no stack trace. */
@Provider
public final class UnexpectedExceptionMapper implements ExceptionMapper<Throwable> {
    private static final Logger LOG = LoggerFactory.getLogger(UnexpectedExceptionMapper.class);

    @Context
    private UriInfo uri;

    @Override
    public Response toResponse(Throwable e) {
        return unexpected(e, uri);
    }

    /** 500 with an error id that is also in the log, with the stack trace. */
    static Response unexpected(Throwable e, UriInfo uri) {
        String errorId = Long.toHexString(ThreadLocalRandom.current().nextLong());
        LOG.error("Unexpected error {} on {}", errorId, uri == null ? "?" : uri.getPath(), e);
        return Problems.response(ProblemType.INTERNAL_ERROR,
                "Unexpected error; the server log has the details under error id " + errorId, uri);
    }
}
