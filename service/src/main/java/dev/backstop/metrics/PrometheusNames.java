package dev.backstop.metrics;

import java.util.Locale;

/** Turns Dropwizard's dotted, camelCase, dashed names into Prometheus metric and label names. */
public final class PrometheusNames {
    private static final String[] RESERVED_SUFFIXES = {"_total", "_count", "_sum", "_bucket", "_created", "_info"};

    private PrometheusNames() {}

    /**
     * The Prometheus family name for a Dropwizard name. {@code unitSuffix} (such as {@code _seconds})
     * is appended unless already there. Counter names are returned without {@code _total}, which the
     * exposition writer appends. Non-counter names never end in a suffix Prometheus reserves.
     */
    public static String of(String dropwizardName, String unitSuffix, boolean counter) {
        String name = snake(dropwizardName);
        if (counter && name.endsWith("_total")) {
            name = name.substring(0, name.length() - "_total".length());
        }
        if (!unitSuffix.isEmpty() && !name.endsWith(unitSuffix)) {
            name = name + unitSuffix;
        }
        if (!counter) {
            for (String reserved : RESERVED_SUFFIXES) {
                if (name.endsWith(reserved)) {
                    // Prometheus gives these suffixes meaning (summary/histogram parts); a plain gauge drops it.
                    name = name.substring(0, name.length() - reserved.length());
                    break;
                }
            }
        }
        return name;
    }

    /** A valid label name for a Dropwizard label key. */
    public static String label(String key) {
        return snake(key);
    }

    static String snake(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        char previous = '_';
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isUpperCase(c) && Character.isLetterOrDigit(previous) && !Character.isUpperCase(previous)) {
                out.append('_');
            } else if (Character.isUpperCase(c) && Character.isUpperCase(previous)
                    && i + 1 < text.length() && Character.isLowerCase(text.charAt(i + 1))) {
                out.append('_'); // "HTTPServer" -> "http_server"
            }
            char lower = Character.toLowerCase(c);
            boolean valid = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
            char next = valid ? lower : '_';
            if (next != '_' || (out.length() > 0 && out.charAt(out.length() - 1) != '_')) {
                out.append(next);
            }
            previous = c;
        }
        String name = out.toString();
        while (name.endsWith("_")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.isEmpty() || Character.isDigit(name.charAt(0))) {
            name = "_" + name;
        }
        return name.toLowerCase(Locale.ROOT);
    }
}
