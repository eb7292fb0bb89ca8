package dev.backstop.pipeline;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The one place where stored bytes are encoded and decoded: zstd, then OpenPGP when encryption is
 * on, the same formats and keys for snapshots and WAL segments, so the stock tools read both
 * ({@code gpg --decrypt | zstd -d}). Nothing outside {@code pipeline} uses zstd-jni or Bouncy Castle
 * (LayeringTest).
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

    /** The compression as a manifest records it ({@code zstd-3}). */
    public String compressionName() {
        return compression.describe();
    }

    /** The recipient's fingerprint, or null when not encrypting. */
    public String encryptionFingerprint() {
        return encryptor == null ? null : encryptor.recipientFingerprint();
    }

    /**
     * A snapshot's encoding into {@code target}: what is written to {@link Encoding#input()} is
     * counted (raw), compressed with the configured workers, encrypted, then counted and hashed as it
     * is stored. Closing the input finishes the zstd frame and the OpenPGP message and leaves
     * {@code target} open (the caller commits it).
     */
    public Encoding encoding(OutputStream target) throws IOException {
        MeasuringOutputStream stored = MeasuringOutputStream.hashing(new OpenPgpEncryptor.Unclosable(target));
        OutputStream encrypted = encryptor == null ? stored : encryptor.encrypt(stored);
        ZstdOutputStreamNoFinalizer zstd = new ZstdOutputStreamNoFinalizer(encrypted, compression.level());
        if (compression.workers() > 0) {
            zstd.setWorkers(compression.workers());
        }
        return new Encoding(MeasuringOutputStream.counting(zstd), stored);
    }

    /** An encoding in progress: its input, and the raw and stored counts and stored SHA-256 once it is closed. */
    public static final class Encoding {
        private final MeasuringOutputStream raw;
        private final MeasuringOutputStream stored;

        Encoding(MeasuringOutputStream raw, MeasuringOutputStream stored) {
            this.raw = raw;
            this.stored = stored;
        }

        public OutputStream input() {
            return raw;
        }

        public long rawBytes() {
            return raw.count();
        }

        public long storedBytes() {
            return stored.count();
        }

        /** Hex SHA-256 of the stored bytes; once, after the input is closed. */
        public String storedSha256() {
            return stored.sha256();
        }
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
        return decode(stored, key.endsWith(".pgp"), key + " is encrypted and encryption.privateKeyFile is not configured on this host");
    }

    /**
     * Decodes stored bytes: OpenPGP when {@code encrypted} (failing with {@code noKey} when this host
     * holds no private key), then zstd. Closing the result closes {@code stored} too; so does a
     * failure to start decoding.
     */
    public InputStream decode(InputStream stored, boolean encrypted, String noKey) throws IOException {
        try {
            InputStream compressed = stored;
            if (encrypted) {
                if (decryptor == null) {
                    throw new IOException(noKey);
                }
                compressed = decryptor.decrypt(stored);
            }
            InputStream decompressed;
            try {
                decompressed = new ZstdInputStreamNoFinalizer(compressed);
            } catch (IOException e) {
                throw new IOException("cannot decompress: " + e.getMessage(), e);
            }
            return new java.io.FilterInputStream(decompressed) {
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

    /**
     * What the chunks of one run share: when encrypting, one OpenPGP session key, wrapped to the
     * recipient once (see {@link OpenPgpEncryptor.Session}).
     */
    public static final class ChunkSession {
        private final OpenPgpEncryptor.Session openPgp;

        private ChunkSession(OpenPgpEncryptor.Session openPgp) {
            this.openPgp = openPgp;
        }
    }

    /** A session for one run's chunks. */
    public ChunkSession chunkSession() throws IOException {
        return new ChunkSession(encryptor == null ? null : encryptor.session());
    }

    /**
     * One chunk of a chunked snapshot as stored: an independent zstd frame, inside an independent
     * OpenPGP message when encrypting, so {@code gpg -d | zstd -d} reads any chunk cut out of its pack.
     * The frame is compressed straight into the message's plaintext.
     */
    public byte[] encodeChunk(ChunkSession session, byte[] data, int length) throws IOException {
        int bound = (int) com.github.luben.zstd.Zstd.compressBound(length);
        ChunkWorkspaces.Encoder workspace = ChunkWorkspaces.encoder();
        boolean compressed = false;
        try {
            byte[] into = workspace.buffer(encryptor == null ? bound : OpenPgpEncryptor.plaintextLength(bound));
            int at = encryptor == null ? 0 : OpenPgpEncryptor.LITERAL_OFFSET;
            workspace.zstd.setLevel(compression.level());
            int n = workspace.zstd.compressByteArray(into, at, bound, data, 0, length);
            compressed = true;
            return encryptor == null ? java.util.Arrays.copyOf(into, n) : encryptor.seal(session.openPgp, into, n);
        } catch (com.github.luben.zstd.ZstdException e) {
            throw new IOException("cannot compress the chunk: " + e.getMessage(), e);
        } finally {
            if (compressed) {
                ChunkWorkspaces.release(workspace);
            } else {
                workspace.zstd.close(); // a context that failed is not reused
            }
        }
    }

    /** The chunk {@link #encodeChunk(ChunkSession, byte[], int)} stored; {@code rawLength} is what it must decode to. */
    public byte[] decodeChunk(byte[] stored, boolean encrypted, int rawLength, String noKey) throws IOException {
        return decodeChunk(stored, 0, stored.length, encrypted, rawLength, noKey);
    }

    /** As {@link #decodeChunk(byte[], boolean, int, String)}, for a chunk at {@code offset} in a larger read (no copy of it is made). */
    public byte[] decodeChunk(byte[] stored, int offset, int length, boolean encrypted, int rawLength, String noKey) throws IOException {
        byte[] raw = new byte[rawLength];
        decodeChunkInto(stored, offset, length, encrypted, rawLength, noKey, encrypted ? new byte[2 * length] : null, raw, 0);
        return raw;
    }

    /**
     * As {@link #decodeChunk(byte[], int, int, boolean, int, String)}, into {@code out} at {@code
     * outOffset} ({@code rawLength} bytes), so that a reader decodes many chunks into one buffer;
     * {@code scratch} (at least twice {@code length} bytes when {@code encrypted}) holds the
     * decrypted OpenPGP packet and the zstd frame meanwhile.
     */
    public void decodeChunkInto(byte[] stored, int offset, int length, boolean encrypted, int rawLength, String noKey, byte[] scratch,
            byte[] out, int outOffset) throws IOException {
        byte[] compressed = stored;
        int from = offset;
        int size = length;
        if (encrypted) {
            if (decryptor == null) {
                throw new IOException(noKey);
            }
            // The plaintext (the zstd frame) is shorter than the OpenPGP message: the second half of scratch holds it.
            compressed = scratch;
            size = decryptor.decryptInto(stored, offset, length, scratch, scratch, length);
            from = length;
        }
        long content = com.github.luben.zstd.Zstd.getFrameContentSize(compressed, from, size);
        if (content != rawLength) {
            throw new IOException("the chunk's zstd frame holds " + content + " bytes, its entry says " + rawLength);
        }
        com.github.luben.zstd.ZstdDecompressCtx zstd = ChunkWorkspaces.decoder();
        int n = -1;
        try {
            n = zstd.decompressByteArray(out, outOffset, rawLength, compressed, from, size);
        } catch (com.github.luben.zstd.ZstdException e) {
            throw new IOException("cannot decompress the chunk: " + e.getMessage(), e);
        } finally {
            if (n >= 0) {
                ChunkWorkspaces.release(zstd);
            } else {
                zstd.close(); // a context that failed is not reused
            }
        }
        if (n != rawLength) {
            throw new IOException("cannot decompress the chunk: " + n + " bytes of " + rawLength);
        }
    }

    /** Whether chunks are encrypted (and so named by keyed ids). */
    public boolean encrypting() {
        return encryptor != null;
    }
}
