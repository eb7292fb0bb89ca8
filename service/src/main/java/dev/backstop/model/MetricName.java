package dev.backstop.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dropwizard metric names carry no labels, so ours encode them as a suffix the Prometheus exporter
 * understands: {@code backstop.snapshots[source=main,outcome=completed]}. The same name reads
 * plainly on Dropwizard's {@code /metrics} page.
 */
public record MetricName(String base, Map<String, String> labels) {

    /** Builds a name from a base and label pairs: {@code of("backstop.x", "source", "main")}. */
    public static String of(String base, String... labelPairs) {
        if (labelPairs.length % 2 != 0) {
            throw new IllegalArgumentException("labelPairs must come in name/value pairs: " + String.join(",", labelPairs));
        }
        if (labelPairs.length == 0) {
            return base;
        }
        StringBuilder name = new StringBuilder(base).append('[');
        for (int i = 0; i < labelPairs.length; i += 2) {
            if (i > 0) {
                name.append(',');
            }
            name.append(labelPairs[i]).append('=').append(escape(labelPairs[i + 1]));
        }
        return name.append(']').toString();
    }

    /** Splits a name written by {@link #of}; names without labels come back with an empty map. */
    public static MetricName parse(String name) {
        int open = name.indexOf('[');
        if (open < 0 || !name.endsWith("]")) {
            return new MetricName(name, Map.of());
        }
        Map<String, String> labels = new LinkedHashMap<>();
        String body = name.substring(open + 1, name.length() - 1);
        int start = 0;
        while (start < body.length()) {
            int equals = body.indexOf('=', start);
            if (equals < 0) {
                return new MetricName(name, Map.of());
            }
            StringBuilder value = new StringBuilder();
            int i = equals + 1;
            while (i < body.length() && body.charAt(i) != ',') {
                char c = body.charAt(i);
                if (c == '\\' && i + 1 < body.length()) {
                    c = body.charAt(++i);
                }
                value.append(c);
                i++;
            }
            labels.put(body.substring(start, equals), value.toString());
            start = i + 1;
        }
        return new MetricName(name.substring(0, open), labels);
    }

    private static String escape(String value) {
        return value.replace("\\", "\\\\").replace(",", "\\,").replace("]", "\\]");
    }
}
