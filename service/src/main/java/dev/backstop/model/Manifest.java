package dev.backstop.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}, written beside every data object. It describes the object completely, so
 * the catalog can be rebuilt from storage and an operator can verify and restore with stock tools.
 * Never holds a secret.
 *
 * @param formatVersion         version of this document's layout
 * @param dataKey               key of the data object, relative to the storage target's root/prefix
 * @param sha256                hex SHA-256 of the stored object (after compression and encryption)
 * @param rawBytes              bytes the source produced
 * @param storedBytes           bytes stored
 * @param compression           e.g. {@code zstd-3}
 * @param encryption            null when not encrypted
 * @param filesChanged          directory sources: files that changed while being read
 * @param filesVanished         directory sources: files that vanished while being read
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields are not an error
public record Manifest(
        int formatVersion,
        String snapshotId,
        String source,
        String sourceType,
        String backstopVersion,
        Map<String, String> toolVersions,
        Instant startedAt,
        Instant finishedAt,
        String dataKey,
        String format,
        long rawBytes,
        long storedBytes,
        String sha256,
        String compression,
        Encryption encryption,
        List<String> filesChanged,
        List<String> filesVanished) {

    public static final int FORMAT_VERSION = 1;

    /** @param recipientFingerprint fingerprint of the recipient's primary key */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    public record Encryption(String format, String recipientFingerprint) {}
}
