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
    /** Bouncy Castle as a JCA provider for the key operations, not registered JVM-wide. */
    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();
    /** Every encryption key of the file, unlocked once with the passphrase, by key id. */
    private final java.util.Map<Long, PGPPrivateKey> keys;

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
            BcPGPObjectFactory factory = new BcPGPObjectFactory(PGPUtil.getDecoderStream(encrypted));
            Object first = factory.nextObject();
            PGPEncryptedDataList list = first instanceof PGPEncryptedDataList l ? l : (PGPEncryptedDataList) factory.nextObject();
            Iterator<?> candidates = list.getEncryptedDataObjects();
            while (candidates.hasNext()) {
                if (candidates.next() instanceof PGPPublicKeyEncryptedData data) {
                    PGPPrivateKey key = keys.get(data.getKeyID());
                    if (key == null) {
                        continue;
                    }
                    // The session key by Bouncy Castle; the content through CfbDecryption (the JDK's AES, every block of a read at once).
                    InputStream clear = data.getDataStream(new org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyDataDecryptorFactoryBuilder()
                            .setProvider(BC).setContentProvider(CfbDecryption.PROVIDER).build(key));
                    Object literal = new BcPGPObjectFactory(clear).nextObject();
                    if (!(literal instanceof PGPLiteralData literalData)) {
                        throw new IOException("the OpenPGP message holds no literal data");
                    }
                    return new Verifying(literalData.getInputStream(), data);
                }
            }
            throw new NotForThisKeyException("the object is not encrypted to the configured private key (encryption.privateKeyFile)");
        } catch (PGPException e) {
            throw new IOException("cannot decrypt: " + e.getMessage(), e);
        } catch (ClassCastException | NullPointerException e) {
            throw new IOException("not an OpenPGP encrypted message", e);
        }
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
