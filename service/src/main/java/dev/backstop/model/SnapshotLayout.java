package dev.backstop.model;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/** Object keys: {@code {source}/{yyyy}/{mm}/{dd}/{snapshotId}/data.<ext>} and {@code manifest.json} beside it. */
public final class SnapshotLayout {
    public static final String MANIFEST = "manifest.json";
    public static final String VERIFICATION = "verification.json";
    /** Suffix of a chunked snapshot's chunk list after the source's extension: {@code data.tar.chunks.jsonl}. */
    public static final String CHUNK_LIST = ".chunks.jsonl";

    private SnapshotLayout() {}

    public static String directory(String source, String snapshotId, Instant startedAt) {
        ZonedDateTime t = startedAt.atZone(ZoneOffset.UTC);
        return String.format("%s/%04d/%02d/%02d/%s", source, t.getYear(), t.getMonthValue(), t.getDayOfMonth(), snapshotId);
    }

    public static String dataKey(String directory, String extension) {
        return directory + "/data." + extension;
    }

    public static String manifestKey(String directory) {
        return directory + "/" + MANIFEST;
    }

    /** The drill record beside a manifest. */
    public static String verificationKey(String manifestKey) {
        return manifestKey.substring(0, manifestKey.length() - MANIFEST.length()) + VERIFICATION;
    }
}
