package dev.backstop.pipeline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Date;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Locale;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyKeyEncryptionMethodGenerator;

/**
 * Encrypts a stream to one OpenPGP recipient (AES-256, integrity-protected), readable by
 * {@code gpg --decrypt}. Only the recipient's public key is needed here.
 */
public final class OpenPgpEncryptor {
    private static final int BUFFER = 1 << 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final PGPPublicKey encryptionKey;
    private final String fingerprint;

    private OpenPgpEncryptor(PGPPublicKey encryptionKey, String fingerprint) {
        this.encryptionKey = encryptionKey;
        this.fingerprint = fingerprint;
    }

    /** Reads the recipient's public key; fails with a message naming the file when it is unusable. */
    public static OpenPgpEncryptor fromKeyFile(Path file) throws IOException {
        try (InputStream in = PGPUtil.getDecoderStream(KeyFiles.open("encryption.recipientKeyFile", file))) {
            PGPPublicKeyRingCollection rings = new PGPPublicKeyRingCollection(in, new BcKeyFingerprintCalculator());
            Iterator<PGPPublicKeyRing> ringIterator = rings.getKeyRings();
            while (ringIterator.hasNext()) {
                PGPPublicKeyRing ring = ringIterator.next();
                String primary = HexFormat.of().formatHex(ring.getPublicKey().getFingerprint()).toUpperCase(Locale.ROOT);
                Iterator<PGPPublicKey> keys = ring.getPublicKeys();
                while (keys.hasNext()) {
                    PGPPublicKey key = keys.next();
                    if (key.isEncryptionKey() && !key.hasRevocation()) {
                        return new OpenPgpEncryptor(key, primary);
                    }
                }
            }
            throw new IOException("encryption.recipientKeyFile " + file + " holds no usable encryption key");
        } catch (PGPException | RuntimeException e) {
            throw new IOException("encryption.recipientKeyFile " + file + " is not an OpenPGP public key: " + e.getMessage(), e);
        }
    }

    /** Fingerprint of the recipient's primary key, as {@code gpg --fingerprint} shows it (without spaces). */
    public String recipientFingerprint() {
        return fingerprint;
    }

    /**
     * Wraps {@code out}: bytes written become one OpenPGP message. Closing the returned stream
     * finishes the message but leaves {@code out} open.
     */
    public OutputStream encrypt(OutputStream out) throws IOException {
        // The data cipher through the JDK (SunJCE's AES uses the CPU's AES instructions: several times
        // Bouncy Castle's pure-Java engine); the session key is wrapped to the recipient by Bouncy Castle.
        PGPEncryptedDataGenerator encrypted = new PGPEncryptedDataGenerator(
                new org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256)
                        .setWithIntegrityPacket(true)
                        .setSecureRandom(RANDOM));
        encrypted.addMethod(new BcPublicKeyKeyEncryptionMethodGenerator(encryptionKey));
        try {
            OutputStream encryptedOut = encrypted.open(new Unclosable(out), new byte[BUFFER]);
            PGPLiteralDataGenerator literal = new PGPLiteralDataGenerator();
            OutputStream literalOut = literal.open(encryptedOut, PGPLiteralData.BINARY, "data", new Date(), new byte[BUFFER]);
            return new FilterOutputStream(literalOut) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    literalOut.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    literal.close();
                    encrypted.close();
                }
            };
        } catch (PGPException e) {
            throw new IOException("cannot start OpenPGP encryption: " + e.getMessage(), e);
        }
    }

    /**
     * A session key for many messages: wrapped to the recipient once (one public-key operation,
     * its key packet then prefixed to every message), each message still a whole OpenPGP message
     * of its own ({@code gpg -d} reads any one alone) with a random prefix of its own. A chunked
     * run encrypts all its chunks under one session, as the whole-object format encrypts a whole
     * snapshot under one: the per-chunk key agreement and key wrap cost more than the chunk's AES.
     */
    public static final class Session {
        private final byte[] keyPacket;
        private final javax.crypto.spec.SecretKeySpec key;

        private Session(byte[] keyPacket, byte[] key) {
            this.keyPacket = keyPacket;
            this.key = new javax.crypto.spec.SecretKeySpec(key, "AES");
        }

        /** The key packet every message of the session starts with. */
        byte[] keyPacket() {
            return keyPacket.clone();
        }
    }

    /** A new session: a random AES-256 key, wrapped to the recipient. */
    public Session session() throws IOException {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        try {
            org.bouncycastle.bcpg.ContainedPacket packet = new BcPublicKeyKeyEncryptionMethodGenerator(encryptionKey).generate(
                    new org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256)
                            .setWithIntegrityPacket(true), key);
            return new Session(packet.getEncoded(), key);
        } catch (PGPException e) {
            throw new IOException("cannot start OpenPGP encryption: " + e.getMessage(), e);
        }
    }

    /** Octets of plaintext before a message's literal data: the random prefix (18), the literal packet's headers (6 + 10). */
    public static final int LITERAL_OFFSET = 18 + 6 + 10;
    /** Octets of plaintext after the literal data: the modification detection code packet. */
    private static final int MDC_LENGTH = 22;
    private static final ThreadLocal<javax.crypto.Cipher> CFB = ThreadLocal.withInitial(() -> {
        try {
            return javax.crypto.Cipher.getInstance("AES/CFB/NoPadding", "SunJCE");
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("the JDK offers no AES/CFB", e);
        }
    });
    private static final ThreadLocal<java.security.MessageDigest> SHA1 = ThreadLocal.withInitial(() -> {
        try {
            return java.security.MessageDigest.getInstance("SHA-1");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK offers no SHA-1", e);
        }
    });

    /** This thread's SHA-1 (for modification detection codes), reset. */
    static java.security.MessageDigest sha1() {
        java.security.MessageDigest sha1 = SHA1.get();
        sha1.reset();
        return sha1;
    }

    /**
     * The length of a plaintext buffer for {@link #seal} (a larger one serves as well): the literal
     * data goes at {@link #LITERAL_OFFSET}, at most {@code capacity} octets (a compressor writes its
     * frame there directly).
     */
    public static int plaintextLength(int capacity) {
        return LITERAL_OFFSET + capacity + MDC_LENGTH;
    }

    /**
     * One OpenPGP message of the session holding {@code plain[LITERAL_OFFSET, LITERAL_OFFSET +
     * length)} as binary literal data named "data": the session's key packet, then a version-1
     * symmetrically encrypted integrity-protected packet (AES-256 CFB; a random block and its last
     * two octets repeated, the literal packet, and the modification detection code: 0xD3 0x14 and
     * the SHA-1 of everything before it), as RFC 4880 5.13 writes it and {@code gpg -d} reads it.
     * {@code plain} (at least {@link #plaintextLength} octets) is overwritten with the rest of the plaintext.
     */
    public byte[] seal(Session session, byte[] plain, int length) throws IOException {
        int body = 18 + 6 + 10 + length + MDC_LENGTH; // the encrypted octets
        byte[] random = new byte[16];
        RANDOM.nextBytes(random);
        System.arraycopy(random, 0, plain, 0, 16);
        plain[16] = random[14];
        plain[17] = random[15];
        int at = 18;
        plain[at++] = (byte) (0xC0 | 11); // literal data packet, new format
        at = fiveOctetLength(plain, at, 10 + length);
        plain[at++] = 'b';
        plain[at++] = 4;
        plain[at++] = 'd';
        plain[at++] = 'a';
        plain[at++] = 't';
        plain[at++] = 'a';
        int now = (int) (System.currentTimeMillis() / 1000);
        plain[at++] = (byte) (now >>> 24);
        plain[at++] = (byte) (now >>> 16);
        plain[at++] = (byte) (now >>> 8);
        plain[at++] = (byte) now;
        at += length;
        plain[at++] = (byte) 0xD3;
        plain[at++] = 0x14;
        java.security.MessageDigest sha1 = sha1();
        sha1.update(plain, 0, at);
        try {
            sha1.digest(plain, at, 20);
        } catch (java.security.DigestException e) {
            throw new IOException("cannot compute the modification detection code: " + e.getMessage(), e);
        }
        byte[] keyPacket = session.keyPacket;
        byte[] message = new byte[keyPacket.length + 6 + 1 + body];
        System.arraycopy(keyPacket, 0, message, 0, keyPacket.length);
        int m = keyPacket.length;
        message[m++] = (byte) (0xC0 | 18); // symmetrically encrypted integrity-protected data packet, new format
        m = fiveOctetLength(message, m, 1 + body);
        message[m++] = 1; // version
        try {
            javax.crypto.Cipher cfb = CFB.get();
            cfb.init(javax.crypto.Cipher.ENCRYPT_MODE, session.key, new javax.crypto.spec.IvParameterSpec(new byte[16]));
            int n = cfb.doFinal(plain, 0, body, message, m);
            if (n != body) {
                throw new IOException("AES-CFB wrote " + n + " octets of " + body);
            }
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot encrypt: " + e.getMessage(), e);
        }
        return message;
    }

    private static int fiveOctetLength(byte[] into, int at, int length) {
        into[at++] = (byte) 0xFF;
        into[at++] = (byte) (length >>> 24);
        into[at++] = (byte) (length >>> 16);
        into[at++] = (byte) (length >>> 8);
        into[at++] = (byte) length;
        return at;
    }

    /** Keeps the storage stream open when the layers above it close. */
    public static final class Unclosable extends FilterOutputStream {
        public Unclosable(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
