package dev.backstop.core;

import static java.util.Objects.requireNonNull;

/**
 * The one exception family of the domain. It carries the kind of problem and a detail written for
 * the operator who will read it; the HTTP layer maps it to {@code application/problem+json}.
 */
public class BackstopException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ProblemType type;

    public BackstopException(ProblemType type, String detail) {
        super(requireNonNull(detail, "detail"));
        this.type = requireNonNull(type, "type");
    }

    public BackstopException(ProblemType type, String detail, Throwable cause) {
        super(requireNonNull(detail, "detail"), cause);
        this.type = requireNonNull(type, "type");
    }

    public ProblemType type() {
        return type;
    }

    public String detail() {
        return getMessage();
    }

    public static BackstopException notFound(String detail) {
        return new BackstopException(ProblemType.NOT_FOUND, detail);
    }

    public static BackstopException conflict(String detail) {
        return new BackstopException(ProblemType.CONFLICT, detail);
    }

    /** The id itself, or a 400 naming what it should have been: {@code requireId(text, "snapshot")}. */
    public static String requireId(String text, String kind) {
        if (!dev.backstop.model.TimeOrderedId.isValid(text)) {
            throw new BackstopException(ProblemType.BAD_REQUEST,
                    "'" + text + "' is not a " + kind + " id (26 characters, Crockford base32)");
        }
        return text;
    }
}
