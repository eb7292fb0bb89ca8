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
