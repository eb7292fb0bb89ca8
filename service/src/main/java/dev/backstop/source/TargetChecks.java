package dev.backstop.source;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The checks every restorer makes of a request's target before anything is written. */
public final class TargetChecks {
    private TargetChecks() {}

    /** A misspelt target key ("datbase") is an error, not an empty target. */
    public static void onlyKey(Map<String, String> target, String allowed) {
        for (String key : target.keySet()) {
            if (!key.equals(allowed)) {
                throw SourceRestorer.Refused.invalid("unknown target key '" + key + "'; this source type takes target." + allowed
                        + " only");
            }
        }
    }

    /** {@code target.<name>} as an absolute, normalized path; relative paths are refused (they depend on the service's directory). */
    public static Path absolutePath(Map<String, String> target, String name, String type) {
        String path = target.get(name);
        if (path == null || path.isBlank()) {
            throw SourceRestorer.Refused.invalid("target." + name + " is required to restore a " + type + " source");
        }
        Path p = Path.of(path);
        if (!p.isAbsolute()) {
            throw SourceRestorer.Refused.invalid("target." + name + " " + path + " is a relative path; give the absolute one (it "
                    + "would resolve to " + p.toAbsolutePath().normalize() + ")");
        }
        return p.normalize();
    }

    /** The directory that would hold the target exists. */
    public static void parentExists(Path p) {
        Path parent = p.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw SourceRestorer.Refused.invalid("the directory " + parent + " that would hold " + p + " does not exist; create it first");
        }
    }
}
