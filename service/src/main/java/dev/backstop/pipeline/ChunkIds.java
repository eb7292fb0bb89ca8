package dev.backstop.pipeline;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a chunk is named: plain SHA-256 of its content when snapshots are not encrypted, HMAC-SHA256
 * under the repository's chunk key when they are, so that nothing in storage reveals a hash of
 * plaintext (a guessed file's hash cannot be looked for). Not thread-safe: one per thread.
 */
public final class ChunkIds {
    public static final String PLAIN = "sha256";
    public static final String KEYED = "hmac-sha256";

    private final MessageDigest digest;
    private final Mac mac;
    private final String keyId;

    private ChunkIds(MessageDigest digest, Mac mac, String keyId) {
        this.digest = digest;
        this.mac = mac;
        this.keyId = keyId;
    }

    public static ChunkIds plain() {
        try {
            return new ChunkIds(MessageDigest.getInstance("SHA-256"), null, null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is required by every JVM", e);
        }
    }

    /** Keyed by {@code key} (32 bytes). */
    public static ChunkIds keyed(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return new ChunkIds(null, mac, keyId(key));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required by every JVM", e);
        }
    }

    /** A key's public name: HMAC of a fixed text, so a key can be recognised without being shown. */
    public static String keyId(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal("backstop chunk key id".getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
                    .substring(0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required by every JVM", e);
        }
    }

    /** {@link #PLAIN} or {@link #KEYED}. */
    public String scheme() {
        return mac == null ? PLAIN : KEYED;
    }

    /** The key's id, null for plain ids. */
    public String keyId() {
        return keyId;
    }

    public String id(byte[] data, int offset, int length) {
        byte[] out;
        if (mac != null) {
            mac.update(data, offset, length);
            out = mac.doFinal();
        } else {
            digest.update(data, offset, length);
            out = digest.digest();
        }
        return HexFormat.of().formatHex(out);
    }

    /** A fresh instance with the same key (one per thread). */
    public ChunkIds copy() {
        try {
            return mac == null ? plain() : new ChunkIds(null, (Mac) mac.clone(), keyId);
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }
}
