package dev.backstop.source;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/** A thing Backstop takes snapshots of: writes one consistent, self-contained stream of its state. */
public interface SnapshotSource {

    String name();

    /** {@code postgres}, {@code h2}, {@code sqlite} or {@code directory}. */
    String type();

    /** Extension of the raw stream, before compression: {@code dump}, {@code sql}, {@code sqlite}, {@code tar}. */
    String extension();

    /** Versions of the tools that produce the stream, recorded in the manifest. */
    Map<String, String> toolVersions();

    /**
     * Writes a consistent snapshot to {@code out} and returns what the manifest should report. Must
     * stream: never hold the whole snapshot in memory. Throws with a readable reason on failure.
     */
    SourceReport writeTo(OutputStream out) throws IOException;

    /**
     * As {@link #writeTo(OutputStream)}, into a chunked snapshot: a source that writes files may
     * use {@code files} to cut chunks at file boundaries and to reuse unchanged files' chunks.
     */
    default SourceReport writeTo(OutputStream out, FileChunks files) throws IOException {
        return writeTo(out);
    }

    /** Throws with a readable reason when the source cannot be snapshotted now (for health). */
    void checkReachable() throws Exception;

    /**
     * For {@code check} only (it may start processes and connect): every tool a snapshot, a
     * restore and a drill of this source will run is present, fits the server's version, and
     * connects with the source's settings. Changes nothing.
     */
    default java.util.List<ToolCheck> checkTools() {
        return java.util.List.of();
    }

    /**
     * Conditions of this source beyond reachability, for {@code /health/detailed}; observed on the
     * health monitor's schedule, so they must answer from memory, not by asking the source.
     */
    default java.util.List<SourceCondition> conditions(java.time.Instant now) {
        return java.util.List.of();
    }
}
