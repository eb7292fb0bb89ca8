package dev.backstop.source;

/**
 * One thing {@code check} proves about a tool a source runs: it is there, its version fits the
 * server, it connects with the source's settings. {@code detail} says what was found, or why not.
 */
public record ToolCheck(String tool, boolean ok, String detail) {
    public static ToolCheck ok(String tool, String detail) {
        return new ToolCheck(tool, true, detail);
    }

    public static ToolCheck failed(String tool, String detail) {
        return new ToolCheck(tool, false, detail);
    }
}
