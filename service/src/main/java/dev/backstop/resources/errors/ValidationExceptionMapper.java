package dev.backstop.resources.errors;

import dev.backstop.api.Problem;
import dev.backstop.core.ProblemType;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.ConstraintViolationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/** Bean Validation failures on a request: 422 with one entry per invalid field. */
@Provider
public final class ValidationExceptionMapper implements ExceptionMapper<ConstraintViolationException> {
    @Context
    private UriInfo uri;

    @Override
    public Response toResponse(ConstraintViolationException e) {
        List<Problem.FieldError> errors = e.getConstraintViolations().stream()
                .map(ValidationExceptionMapper::fieldError)
                .sorted(Comparator.comparing(Problem.FieldError::field))
                .toList();
        String detail = errors.stream().map(err -> err.field() + " " + err.message()).collect(Collectors.joining("; "));
        return Problems.response(ProblemType.VALIDATION_FAILED, ProblemType.VALIDATION_FAILED.status(), detail, uri, errors);
    }

    private static Problem.FieldError fieldError(ConstraintViolation<?> violation) {
        // A body field's path reads "method.argN.field"; the caller knows it as "field".
        String field = violation.getPropertyPath().toString();
        int lastDot = field.lastIndexOf('.');
        String shortField = lastDot < 0 ? field : field.substring(lastDot + 1);
        if (shortField.startsWith("arg") || shortField.isEmpty()) {
            shortField = "body";
        }
        return new Problem.FieldError(shortField, violation.getMessage());
    }
}
