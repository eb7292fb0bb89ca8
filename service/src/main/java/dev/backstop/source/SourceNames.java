package dev.backstop.source;

/** The rule for source names: they become storage key segments and metric labels. */
public final class SourceNames {
    /** Lowercase letters, digits, '-' and '_'; starts with a letter or digit; at most 64 characters. */
    public static final String PATTERN = "[a-z0-9][a-z0-9_-]{0,63}";
    public static final String MESSAGE = "must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit";

    private SourceNames() {}
}
