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
 * @param chunks                null for a snapshot stored as one object; for a chunked one, how its
 *                              chunk list ({@code dataKey}) names and stores its chunks
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
        List<String> filesVanished,
        Chunks chunks) {

    public static final int FORMAT_VERSION = 1;
    /** The layout of a chunked snapshot's manifest (it adds {@code chunks}). */
    public static final int CHUNKED_FORMAT_VERSION = 2;

    /**
     * A chunked snapshot: {@code dataKey} is its chunk list (JSON lines, one chunk each in stream
     * order: {@code id}, {@code pack}, {@code offset}, {@code length} stored, {@code size} raw);
     * {@code sha256} and {@code storedBytes} above are the chunk list's own.
     *
     * @param format       {@code chunked-1}
     * @param chunkIds     {@code sha256} of the content, or {@code hmac-sha256} under the repository key {@code keyId}
     * @param keyId        the chunk key's id (null for plain ids)
     * @param chunkCount   entries in the chunk list
     * @param packCount    packs they are in
     * @param chunkBytes   stored bytes of every chunk the snapshot names (what a restore reads)
     * @param addedBytes   stored bytes this snapshot added to the repository (its chunks that were new)
     */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    public record Chunks(String format, String chunkIds, String keyId, long chunkCount, long packCount, long chunkBytes,
            long addedBytes) {}

    /** @param recipientFingerprint fingerprint of the recipient's primary key */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    public record Encryption(String format, String recipientFingerprint) {}
}
