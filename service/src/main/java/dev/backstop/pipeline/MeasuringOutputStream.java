package dev.backstop.pipeline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Counts bytes, and optionally hashes them with SHA-256, on their way through. */
public final class MeasuringOutputStream extends FilterOutputStream {
    private final MessageDigest digest;
    private long count;

    private MeasuringOutputStream(OutputStream out, MessageDigest digest) {
        super(out);
        this.digest = digest;
    }

    public static MeasuringOutputStream counting(OutputStream out) {
        return new MeasuringOutputStream(out, null);
    }

    public static MeasuringOutputStream hashing(OutputStream out) {
        try {
            return new MeasuringOutputStream(out, MessageDigest.getInstance("SHA-256"));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JVM", e);
        }
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        if (digest != null) {
            digest.update((byte) b);
        }
        count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        if (digest != null) {
            digest.update(b, off, len);
        }
        count += len;
    }

    public long count() {
        return count;
    }

    /** Hex SHA-256 of everything written; call once, after the last write. */
    public String sha256() {
        return HexFormat.of().formatHex(digest.digest());
    }
}
