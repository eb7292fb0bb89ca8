package dev.backstop.resources.errors;

import dev.backstop.core.ProblemType;
import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Request;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/**
 * Errors raised by Jersey itself (no route, wrong method, wrong media type) or thrown by filters.
 * The status is kept; the body becomes problem+json with a detail that says what to do instead.
 */
@Provider
public final class WebApplicationExceptionMapper implements ExceptionMapper<WebApplicationException> {
    @Context
    private UriInfo uri;

    @Context
    private Request request;

    @Context
    private jakarta.ws.rs.container.ResourceInfo resource;

    @Override
    public Response toResponse(WebApplicationException e) {
        Response original = e.getResponse();
        int status = original.getStatus();
        ProblemType type = ProblemType.forStatus(status);
        Response problem = Problems.response(type, status, detail(e, type), uri, null);
        Response.ResponseBuilder builder = Response.fromResponse(problem);
        for (String header : new String[] {HttpHeaders.ALLOW, HttpHeaders.WWW_AUTHENTICATE, HttpHeaders.RETRY_AFTER}) {
            Object value = original.getHeaders().getFirst(header);
            if (value != null) {
                builder.header(header, value);
            }
        }
        return builder.build();
    }

    private String detail(WebApplicationException e, ProblemType type) {
        String method = request == null ? "" : request.getMethod();
        String path = uri == null ? "" : "/" + uri.getPath();
        return switch (type) {
            case NOT_FOUND -> "No resource at " + path + "; the API lives under /api/v1 (see the README's endpoint list)";
            case METHOD_NOT_ALLOWED -> method + " is not supported on " + path + allowed(e);
            case UNSUPPORTED_MEDIA_TYPE -> "Send the request body as application/json";
            case NOT_ACCEPTABLE -> "This resource answers with application/json only";
            case FORBIDDEN -> "Your token's role may not " + method + " " + path + needed();
            default -> e.getMessage() == null ? type.title() : e.getMessage();
        };
    }

    /** ": it needs the operator role (or admin)", from the method's (or its class's) {@code @RolesAllowed}. */
    private String needed() {
        if (resource == null || resource.getResourceMethod() == null) {
            return "";
        }
        jakarta.annotation.security.RolesAllowed roles = resource.getResourceMethod().getAnnotation(
                jakarta.annotation.security.RolesAllowed.class);
        if (roles == null && resource.getResourceClass() != null) {
            roles = resource.getResourceClass().getAnnotation(jakarta.annotation.security.RolesAllowed.class);
        }
        if (roles == null || roles.value().length == 0) {
            return "";
        }
        String role = roles.value()[0];
        return ": it needs the " + role + " role" + (role.equals("admin") ? "" : role.equals("reader") ? " (or operator, admin)"
                : " (or admin)");
    }

    private static String allowed(WebApplicationException e) {
        if (e instanceof NotAllowedException && !e.getResponse().getAllowedMethods().isEmpty()) {
            return "; allowed: " + String.join(", ", new java.util.TreeSet<>(e.getResponse().getAllowedMethods()));
        }
        return "";
    }
}
