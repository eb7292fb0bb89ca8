package dev.backstop.resources.errors;

import dev.backstop.api.Problem;
import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;

/** Builds problem+json responses; every mapper goes through here so the shape stays one. */
public final class Problems {
    private Problems() {}

    public static Response response(ProblemType type, String detail, UriInfo uri) {
        return response(type, type.status(), detail, uri, null);
    }

    public static Response response(ProblemType type, int status, String detail, UriInfo uri, List<Problem.FieldError> errors) {
        String instance = uri == null ? null : "/" + uri.getPath();
        Problem problem = new Problem(type.uri(), type.title(), status, detail, instance, errors);
        return Response.status(status).type(Problem.MEDIA_TYPE).entity(problem).build();
    }
}
