package dev.backstop.core;

/**
 * The closed set of error kinds the service reports. Each has a stable type URI (RFC 9457 §3.1.1)
 * that clients may switch on; titles never change for a given type.
 */
public enum ProblemType {
    BAD_REQUEST("bad-request", 400, "Bad request"),
    MALFORMED_JSON("malformed-json", 400, "Malformed JSON body"),
    UNAUTHORIZED("unauthorized", 401, "Missing or invalid API token"),
    FORBIDDEN("forbidden", 403, "Role not allowed"),
    NOT_FOUND("not-found", 404, "Resource not found"),
    METHOD_NOT_ALLOWED("method-not-allowed", 405, "Method not allowed"),
    NOT_ACCEPTABLE("not-acceptable", 406, "Not acceptable"),
    CONFLICT("conflict", 409, "Conflict"),
    PAYLOAD_TOO_LARGE("payload-too-large", 413, "Request body too large"),
    UNSUPPORTED_MEDIA_TYPE("unsupported-media-type", 415, "Unsupported media type"),
    VALIDATION_FAILED("validation-failed", 422, "Request failed validation"),
    TOO_MANY_REQUESTS("too-many-requests", 429, "Too many requests"),
    INTERNAL_ERROR("internal-error", 500, "Internal server error"),
    SERVICE_UNAVAILABLE("service-unavailable", 503, "Service unavailable");

    /** Prefix of every problem type URI. A URN: stable, and it does not pretend to be a web page. */
    public static final String URI_PREFIX = "urn:backstop:problem:";

    private final String slug;
    private final int status;
    private final String title;

    ProblemType(String slug, int status, String title) {
        this.slug = slug;
        this.status = status;
        this.title = title;
    }

    public String uri() {
        return URI_PREFIX + slug;
    }

    public int status() {
        return status;
    }

    public String title() {
        return title;
    }

    /** The type that best describes a bare HTTP status raised by the framework. */
    public static ProblemType forStatus(int status) {
        for (ProblemType type : values()) {
            if (type.status == status && type != MALFORMED_JSON) {
                return type;
            }
        }
        return status >= 500 ? INTERNAL_ERROR : BAD_REQUEST;
    }
}
