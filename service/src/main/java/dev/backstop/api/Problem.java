package dev.backstop.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * An RFC 9457 problem document, as sent with {@code application/problem+json}.
 *
 * @param type     stable URI naming the kind of problem (see {@code ProblemType})
 * @param title    short summary of that kind; the same for every occurrence
 * @param status   the HTTP status code
 * @param detail   what went wrong with this request, written to help fix it
 * @param instance the request path
 * @param errors   for validation failures, one entry per invalid field
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String instance, List<FieldError> errors) {
    public static final String MEDIA_TYPE = "application/problem+json";

    /** One invalid field: where it is in the request and why it is invalid. */
    public record FieldError(String field, String message) {}
}
