package dev.backstop.pipeline;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Iterator;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKeyEncryptedData;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.bc.BcPBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.bc.BcPGPDigestCalculatorProvider;

/**
 * Decrypts snapshots made by {@link OpenPgpEncryptor}, streaming, and checks the integrity
 * protection (MDC) at the end: a stream that was altered fails with a specific reason.
 */
public final class OpenPgpDecryptor {
    /** Every encryption key of the file, unlocked once with the passphrase, by key id. */
    private final java.util.Map<Long, PGPPrivateKey> keys;

    /**
     * Session keys of the last key packets seen, by the packet's octets: a run's chunks share one
     * session key and its packet ({@link OpenPgpEncryptor.Session}), whose public-key decryption
     * then runs once, not once a chunk. The same packet always yields the same key, so this only
     * saves work; every message's integrity is still checked.
     */
    private final java.util.Map<java.nio.ByteBuffer, org.bouncycastle.openpgp.PGPSessionKey> sessions =
            java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>(16, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<java.nio.ByteBuffer, org.bouncycastle.openpgp.PGPSessionKey> e) {
                    return size() > SESSIONS;
                }
            });
    private static final int SESSIONS = 64;

    private OpenPgpDecryptor(java.util.Map<Long, PGPPrivateKey> keys) {
        this.keys = keys;
    }

    /**
     * Reads the secret key and unlocks it with the passphrase at once, so a wrong passphrase, a
     * public key given in its place, or a missing file is an error naming the configuration key
     * at start (and in {@code check}), never a restore that fails halfway.
     */
    public static OpenPgpDecryptor fromKeyFile(Path file, String passphrase) throws IOException {
        PGPSecretKeyRingCollection rings;
        try (InputStream in = PGPUtil.getDecoderStream(KeyFiles.open("encryption.privateKeyFile", file))) {
            rings = new PGPSecretKeyRingCollection(in, new BcKeyFingerprintCalculator());
        } catch (PGPException | RuntimeException e) {
            String why = String.valueOf(e.getMessage());
            throw new IOException(why.contains("PGPPublicKeyRing") || why.contains("public key")
                    ? "encryption.privateKeyFile " + file + " holds a public key, not a secret key (export the secret key with "
                            + "gpg --export-secret-keys --armor KEYID)"
                    : "encryption.privateKeyFile " + file + " is not an OpenPGP secret key: " + why, e);
        }
        java.util.Map<Long, PGPPrivateKey> unlocked = new java.util.HashMap<>();
        Iterator<org.bouncycastle.openpgp.PGPSecretKeyRing> ringIterator = rings.getKeyRings();
        while (ringIterator.hasNext()) {
            Iterator<PGPSecretKey> secrets = ringIterator.next().getSecretKeys();
            while (secrets.hasNext()) {
                PGPSecretKey secret = secrets.next();
                if (!secret.getPublicKey().isEncryptionKey() || secret.isPrivateKeyEmpty()) {
                    continue;
                }
                try {
                    unlocked.put(secret.getKeyID(), secret.extractPrivateKey(new BcPBESecretKeyDecryptorBuilder(
                            new BcPGPDigestCalculatorProvider()).build(passphrase.toCharArray())));
                } catch (PGPException e) {
                    throw new IOException((passphrase.isEmpty() ? "encryption.privateKeyFile " + file + " is protected by a "
                            + "passphrase and encryption.privateKeyPassphrase is empty"
                            : "encryption.privateKeyPassphrase does not unlock encryption.privateKeyFile " + file
                                    + " (wrong passphrase)"), e);
                }
            }
        }
        if (unlocked.isEmpty()) {
            throw new IOException("encryption.privateKeyFile " + file + " holds no secret encryption key");
        }
        return new OpenPgpDecryptor(java.util.Map.copyOf(unlocked));
    }

    /**
     * Whether this key decrypts what {@code encryptor} encrypts: a probe is encrypted to the
     * recipient and decrypted here. False means the private key is another key's (a host that
     * keeps an old key for old snapshots after a rotation is one honest reason).
     */
    public boolean decrypts(OpenPgpEncryptor encryptor) throws IOException {
        byte[] probe = "backstop check".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream sealed = new java.io.ByteArrayOutputStream();
        try (java.io.OutputStream out = encryptor.encrypt(sealed)) {
            out.write(probe);
        }
        try (InputStream clear = decrypt(new java.io.ByteArrayInputStream(sealed.toByteArray()))) {
            return java.util.Arrays.equals(clear.readAllBytes(), probe);
        } catch (NotForThisKeyException e) {
            return false;
        }
    }

    /** The message was encrypted to a key this host does not hold. */
    public static final class NotForThisKeyException extends IOException {
        private static final long serialVersionUID = 1L;

        NotForThisKeyException(String message) {
            super(message);
        }
    }

    /** Decrypted plaintext of an OpenPGP message; reading past its end verifies its integrity. */
    public InputStream decrypt(InputStream encrypted) throws IOException {
        try {
            PGPPublicKeyEncryptedData data = ours(encrypted);
            return stream(data);
        } catch (PGPException e) {
            throw new IOException("cannot decrypt: " + e.getMessage(), e);
        } catch (ClassCastException | NullPointerException e) {
            throw new IOException("not an OpenPGP encrypted message", e);
        }
    }

    /** The message's session key packet for a key this host holds (the encrypted data follows it). */
    private PGPPublicKeyEncryptedData ours(InputStream encrypted) throws IOException {
        BcPGPObjectFactory factory = new BcPGPObjectFactory(PGPUtil.getDecoderStream(encrypted));
        Object first = factory.nextObject();
        PGPEncryptedDataList list = first instanceof PGPEncryptedDataList l ? l : (PGPEncryptedDataList) factory.nextObject();
        Iterator<?> candidates = list.getEncryptedDataObjects();
        while (candidates.hasNext()) {
            if (candidates.next() instanceof PGPPublicKeyEncryptedData data && keys.containsKey(data.getKeyID())) {
                return data;
            }
        }
        throw new NotForThisKeyException("the object is not encrypted to the configured private key (encryption.privateKeyFile)");
    }

    /**
     * The session key by Bouncy Castle's lightweight API (not its JCA provider, whose first use
     * parses thousands of algorithm entries: most of a restore's compile time once).
     */
    private org.bouncycastle.openpgp.operator.PublicKeyDataDecryptorFactory factory(PGPPublicKeyEncryptedData data) {
        return new org.bouncycastle.openpgp.operator.bc.BcPublicKeyDataDecryptorFactory(keys.get(data.getKeyID()));
    }

    /** The content of a message through CfbDecryption (the JDK's AES, every block of a read at once). */
    private InputStream stream(PGPPublicKeyEncryptedData data) throws IOException, PGPException {
        return stream(data, data.getSessionKey(factory(data)));
    }

    private InputStream stream(PGPPublicKeyEncryptedData data, org.bouncycastle.openpgp.PGPSessionKey session)
            throws IOException, PGPException {
        InputStream clear = data.getDataStream(new org.bouncycastle.openpgp.operator.jcajce.JceSessionKeyDataDecryptorFactoryBuilder()
                .setProvider(CfbDecryption.PROVIDER).build(session));
        Object literal = new BcPGPObjectFactory(clear).nextObject();
        if (!(literal instanceof PGPLiteralData literalData)) {
            throw new IOException("the OpenPGP message holds no literal data");
        }
        return new Verifying(literalData.getInputStream(), data);
    }

    /**
     * Decrypts a whole message held in memory (a repository chunk) into {@code out} at {@code
     * outOffset} and returns the literal data's length: the session key by Bouncy Castle, the
     * integrity-protected packet (version 1, AES) decrypted in one pass in {@code work} (at least
     * {@code length} bytes), its modification detection code (SHA-1 over the prefix, the packets
     * and the code's header) checked before any of it is parsed; then the literal data packet. A
     * message of another shape (another cipher, AEAD) is read through {@link #decrypt}.
     */
    public int decryptInto(byte[] message, int offset, int length, byte[] work, byte[] out, int outOffset) throws IOException {
        try {
            PGPPublicKeyEncryptedData data = ours(new java.io.ByteArrayInputStream(message, offset, length));
            org.bouncycastle.openpgp.PGPSessionKey session = sessionKey(message, offset, length, data);
            if (!(data.getEncData() instanceof org.bouncycastle.bcpg.SymmetricEncIntegrityPacket packet)
                    || packet.getVersion() != org.bouncycastle.bcpg.SymmetricEncIntegrityPacket.VERSION_1 || !aes(session.getAlgorithm())) {
                try (InputStream in = stream(data, session)) {
                    return readFully(in, out, outOffset);
                }
            }
            javax.crypto.Cipher cfb = CFB.get();
            cfb.init(javax.crypto.Cipher.DECRYPT_MODE, new javax.crypto.spec.SecretKeySpec(session.getKey(), "AES"),
                    new javax.crypto.spec.IvParameterSpec(new byte[16]));
            int n;
            int body = sealedBody(message, offset, length);
            if (body >= 0) { // as OpenPgpEncryptor.seal writes it: decrypted straight out of the message
                n = offset + length - body;
                cfb.doFinal(message, body, n, work, 0);
            } else {
                InputStream in = data.getInputStream(); // after the packet's version octet
                n = in.readNBytes(work, 0, length);
                if (in.read() != -1) {
                    throw new IOException("the OpenPGP message is longer than the chunk");
                }
                cfb.doFinal(work, 0, n, work, 0);
            }
            // A random block, its last two octets repeated, the packets, then 0xD3 0x14 and the SHA-1 of all before it.
            if (n < 18 + 22 || work[14] != work[16] || work[15] != work[17] || (work[n - 22] & 0xff) != 0xD3 || work[n - 21] != 0x14) {
                throw new IOException("OpenPGP integrity check failed: the encrypted object was altered");
            }
            java.security.MessageDigest sha1 = OpenPgpEncryptor.sha1();
            sha1.update(work, 0, n - 20);
            if (!java.security.MessageDigest.isEqual(sha1.digest(), java.util.Arrays.copyOfRange(work, n - 20, n))) {
                throw new IOException("OpenPGP integrity check failed: the encrypted object was altered");
            }
            Object literal = new BcPGPObjectFactory(new java.io.ByteArrayInputStream(work, 18, n - 18 - 22)).nextObject();
            if (!(literal instanceof PGPLiteralData literalData)) {
                throw new IOException("the OpenPGP message holds no literal data");
            }
            return readFully(literalData.getInputStream(), out, outOffset);
        } catch (PGPException e) {
            throw new IOException("cannot decrypt: " + e.getMessage(), e);
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot decrypt: " + e.getMessage(), e);
        } catch (ClassCastException | NullPointerException e) {
            throw new IOException("not an OpenPGP encrypted message", e);
        }
    }

    private static final ThreadLocal<javax.crypto.Cipher> CFB = ThreadLocal.withInitial(() -> {
        try {
            return javax.crypto.Cipher.getInstance("AES/CFB/NoPadding", CfbDecryption.PROVIDER);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("no AES/CFB", e);
        }
    });

    /**
     * Where the encrypted octets of a message laid out as {@link OpenPgpEncryptor#seal} writes it
     * begin (after the key packet, the integrity-protected packet's five-octet length and its
     * version 1, running to the message's end); -1 for any other layout (partial lengths).
     */
    static int sealedBody(byte[] m, int offset, int length) {
        int key = keyPacketLength(m, offset, length);
        if (key < 0 || length - key < 7) {
            return -1;
        }
        int at = offset + key;
        if ((m[at] & 0xff) != (0xC0 | 18) || (m[at + 1] & 0xff) != 0xFF || m[at + 6] != 1) {
            return -1;
        }
        long packet = Integer.toUnsignedLong(java.nio.ByteBuffer.wrap(m, at + 2, 4).getInt());
        return 6 + packet == length - key ? at + 7 : -1;
    }

    /** The message's session key: from {@link #sessions} when its key packet was seen before. */
    private org.bouncycastle.openpgp.PGPSessionKey sessionKey(byte[] message, int offset, int length, PGPPublicKeyEncryptedData data)
            throws PGPException {
        int packet = keyPacketLength(message, offset, length);
        if (packet < 0) {
            return data.getSessionKey(factory(data));
        }
        java.nio.ByteBuffer key = java.nio.ByteBuffer.wrap(java.util.Arrays.copyOfRange(message, offset, offset + packet));
        org.bouncycastle.openpgp.PGPSessionKey known = sessions.get(key);
        if (known != null) {
            return known;
        }
        org.bouncycastle.openpgp.PGPSessionKey session = data.getSessionKey(factory(data));
        sessions.put(key, session);
        return session;
    }

    /**
     * The length of the public-key encrypted session key packet (tag 1) a message starts with,
     * header included; -1 when it starts with another packet or a length that is not definite.
     */
    static int keyPacketLength(byte[] m, int offset, int length) {
        if (length < 2 || (m[offset] & 0x80) == 0) {
            return -1;
        }
        int b = m[offset] & 0xff;
        long total;
        if ((b & 0x40) != 0) { // new format
            if ((b & 0x3f) != 1) {
                return -1;
            }
            int first = m[offset + 1] & 0xff;
            if (first < 192) {
                total = 2L + first;
            } else if (first < 224) {
                total = length < 3 ? -1 : 3L + ((first - 192) << 8) + (m[offset + 2] & 0xff) + 192;
            } else if (first == 255) {
                total = length < 6 ? -1 : 6L + Integer.toUnsignedLong(java.nio.ByteBuffer.wrap(m, offset + 2, 4).getInt());
            } else {
                return -1; // partial length
            }
        } else { // old format
            if (((b >> 2) & 0x0f) != 1) {
                return -1;
            }
            switch (b & 3) {
                case 0 -> total = 2L + (m[offset + 1] & 0xff);
                case 1 -> total = length < 3 ? -1 : 3L + (((m[offset + 1] & 0xff) << 8) | (m[offset + 2] & 0xff));
                case 2 -> total = length < 5 ? -1 : 5L + Integer.toUnsignedLong(java.nio.ByteBuffer.wrap(m, offset + 1, 4).getInt());
                default -> total = -1;
            }
        }
        return total < 0 || total > length ? -1 : (int) total;
    }

    private static boolean aes(int algorithm) {
        return algorithm == org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags.AES_128
                || algorithm == org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags.AES_192
                || algorithm == org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags.AES_256;
    }

    private static int readFully(InputStream in, byte[] out, int outOffset) throws IOException {
        int n = in.readNBytes(out, outOffset, out.length - outOffset);
        if (in.read() != -1) {
            throw new IOException("the chunk decrypts to more bytes than it stores");
        }
        return n;
    }

    /** Checks the modification detection code once the plaintext has been read to its end. */
    private static final class Verifying extends FilterInputStream {
        private final PGPPublicKeyEncryptedData data;
        private boolean verified;

        Verifying(InputStream in, PGPPublicKeyEncryptedData data) {
            super(in);
            this.data = data;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b < 0) {
                verify();
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n < 0) {
                verify();
            }
            return n;
        }

        private void verify() throws IOException {
            if (verified) {
                return;
            }
            try {
                if (!data.isIntegrityProtected() || !data.verify()) {
                    throw new IOException("OpenPGP integrity check failed: the encrypted object was altered");
                }
                verified = true;
            } catch (PGPException e) {
                throw new IOException("OpenPGP integrity check failed: " + e.getMessage(), e);
            }
        }
    }

}
