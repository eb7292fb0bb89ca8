package dev.backstop.resources.errors;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A body that is not valid JSON, or JSON of the wrong shape: 400 with where the parser stopped. */
@Provider
public final class JsonProcessingExceptionMapper implements ExceptionMapper<JsonProcessingException> {
    private static final Logger LOG = LoggerFactory.getLogger(JsonProcessingExceptionMapper.class);

    @Context
    private UriInfo uri;

    @Override
    public Response toResponse(JsonProcessingException e) {
        if (e instanceof InvalidDefinitionException) {
            // Our own type cannot be (de)serialized: a bug on our side, not the caller's.
            LOG.error("JSON binding failed on {}", uri == null ? "?" : uri.getPath(), e);
            return Problems.response(ProblemType.INTERNAL_ERROR, "The server could not process JSON for this resource", uri);
        }
        return Problems.response(ProblemType.MALFORMED_JSON, describe(e), uri);
    }

    private static String describe(JsonProcessingException e) {
        StringBuilder detail = new StringBuilder(e.getOriginalMessage() == null ? "Invalid JSON" : firstLine(e.getOriginalMessage()));
        if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            String field = mapping.getPath().stream()
                    .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                    .collect(Collectors.joining("."));
            detail.append(" (field '").append(field).append("')");
        }
        JsonLocation location = e.getLocation();
        if (location != null && location.getLineNr() > 0) {
            detail.append(" at line ").append(location.getLineNr()).append(", column ").append(location.getColumnNr());
        }
        return detail.toString();
    }

    private static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
