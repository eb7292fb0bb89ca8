package dev.backstop.resources.errors;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.backstop.core.ProblemType;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A body that is not valid JSON, or JSON of the wrong shape: 400 with where the parser stopped. An
 * unknown field is 422 naming it (and the known field it is closest to).
 */
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
        if (e instanceof UnrecognizedPropertyException unknown) {
            // A misspelt field is refused, never ignored: "dry_run" must not run a real restore.
            String field = path(unknown);
            String detail = "unknown field '" + field + "'" + suggestion(unknown.getPropertyName(), unknown.getKnownPropertyIds())
                    + "; nothing was done";
            return Problems.response(ProblemType.VALIDATION_FAILED, 422, detail, uri,
                    java.util.List.of(new dev.backstop.api.Problem.FieldError(field, "unknown field")));
        }
        return Problems.response(ProblemType.MALFORMED_JSON, describe(e), uri);
    }

    /** " (did you mean 'dryRun'?)" when a known field is close, else the list of known fields. */
    static String suggestion(String name, java.util.Collection<Object> known) {
        java.util.List<String> names = known.stream().map(String::valueOf).sorted().toList();
        if (names.isEmpty()) {
            return "";
        }
        String normalized = normalize(name);
        var distance = org.apache.commons.text.similarity.LevenshteinDistance.getDefaultInstance();
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : names) {
            int d = normalize(candidate).equals(normalized) ? 0 : distance.apply(name, candidate);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        if (best != null && bestDistance <= Math.max(2, name.length() / 3)) {
            return " (did you mean '" + best + "'?)";
        }
        return " (known fields: " + String.join(", ", names) + ")";
    }

    /** dry_run, dry-run, DryRun and dryRun are all the same field to a person. */
    private static String normalize(String name) {
        return name.replaceAll("[_\\-]", "").toLowerCase(java.util.Locale.ROOT);
    }

    private static String path(JsonMappingException mapping) {
        return mapping.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining("."));
    }

    static String describe(JsonProcessingException e) {
        String message = e.getOriginalMessage() == null ? "Invalid JSON" : plain(firstLine(e.getOriginalMessage()));
        StringBuilder detail = new StringBuilder();
        if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            detail.append("field '").append(path(mapping)).append("': ");
        } else if (e instanceof com.fasterxml.jackson.core.JsonParseException) {
            detail.append("not valid JSON: ");
        }
        detail.append(message);
        JsonLocation location = e.getLocation();
        if (location != null && location.getLineNr() > 0) {
            detail.append(" (line ").append(location.getLineNr()).append(", column ").append(location.getColumnNr()).append(')');
        }
        return detail.toString();
    }

    /**
     * Jackson's words without Jackson: Java type names become JSON ones, and what it says about its
     * own settings, sources and reference chains is left out.
     */
    static String plain(String message) {
        String text = message;
        for (String cut : new String[] {" Source: ", " at [Source", "; line: ", " (through reference chain", "\n at [Source"}) {
            int at = text.indexOf(cut);
            if (at >= 0) {
                text = text.substring(0, at);
            }
        }
        text = text.replaceAll("\\(`?StreamReadFeature[^)]*\\)", "")
                .replaceAll("\\s*\\(but might if coercion[^)]*\\)", "")
                .replaceAll("\\s*\\(no Creators, like default constructor, exist\\)", "")
                .replaceAll("\\s*\\(for Object starting at[^)]*\\)", "");
        java.util.regex.Matcher types = java.util.regex.Pattern.compile("`([A-Za-z0-9_.$]+)(?:<[^`]*>)?`").matcher(text);
        StringBuilder out = new StringBuilder();
        while (types.find()) {
            types.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(jsonType(types.group(1))));
        }
        types.appendTail(out);
        return out.toString().replace("Cannot construct instance of ", "expected ").strip();
    }

    private static String jsonType(String javaType) {
        String simple = javaType.substring(javaType.lastIndexOf('.') + 1);
        return switch (simple) {
            case "String", "Instant", "OffsetDateTime" -> "a string";
            case "Integer", "int", "Long", "long", "Double", "double", "BigDecimal" -> "a number";
            case "Boolean", "boolean" -> "true or false";
            case "LinkedHashMap", "HashMap", "Map" -> "an object";
            case "ArrayList", "List", "Collection" -> "an array";
            default -> "an object (" + simple.replaceAll("(?<=[a-z])(?=[A-Z])", " ").toLowerCase(java.util.Locale.ROOT) + ")";
        };
    }

    private static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
