package dev.backstop.pipeline;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * How a small stored object (a WAL segment) is encoded: zstd, then OpenPGP when encryption is on,
 * the same formats and keys as snapshots, so the stock tools read both
 * ({@code gpg --decrypt | zstd -d}).
 *
 * @param encryptor null when not encrypting
 * @param decryptor null when this host holds no private key (objects that are encrypted cannot be read)
 */
public record ObjectCodec(CompressionConfig compression, OpenPgpEncryptor encryptor, OpenPgpDecryptor decryptor) {

    /** Whether this host holds the private key that encrypted objects need to be read. */
    public boolean canDecrypt() {
        return decryptor != null;
    }

    /** {@code .zst}, or {@code .zst.pgp} when encrypting. */
    public String suffix() {
        return ".zst" + (encryptor == null ? "" : ".pgp");
    }

    /** A stream that encodes into {@code out}; closing it finishes the encoding but leaves {@code out} open. */
    public OutputStream encode(OutputStream out) throws IOException {
        OutputStream target = new OpenPgpEncryptor.Unclosable(out);
        OutputStream encrypted = encryptor == null ? target : encryptor.encrypt(target);
        return new ZstdOutputStreamNoFinalizer(encrypted, compression.level());
    }

    /**
     * Decodes an object stored under a key ending in {@code .zst} or {@code .zst.pgp}. Closing the
     * result closes {@code stored} too (the OpenPGP layer would leave it open: on S3 that is a
     * pooled connection lost); so does a failure to start decoding.
     */
    public InputStream decode(InputStream stored, String key) throws IOException {
        try {
            InputStream compressed = stored;
            if (key.endsWith(".pgp")) {
                if (decryptor == null) {
                    throw new IOException(key + " is encrypted and encryption.privateKeyFile is not configured on this host");
                }
                compressed = decryptor.decrypt(stored);
            }
            return new java.io.FilterInputStream(new ZstdInputStreamNoFinalizer(compressed)) {
                @Override
                public void close() throws IOException {
                    try (stored) {
                        super.close();
                    }
                }
            };
        } catch (IOException | RuntimeException e) {
            stored.close();
            throw e;
        }
    }
}
