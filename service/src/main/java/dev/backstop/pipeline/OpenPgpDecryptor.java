package dev.backstop.pipeline;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
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
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyDataDecryptorFactory;

/**
 * Decrypts snapshots made by {@link OpenPgpEncryptor}, streaming, and checks the integrity
 * protection (MDC) at the end: a stream that was altered fails with a specific reason.
 */
public final class OpenPgpDecryptor {
    private final PGPSecretKeyRingCollection keys;
    private final char[] passphrase;

    private OpenPgpDecryptor(PGPSecretKeyRingCollection keys, char[] passphrase) {
        this.keys = keys;
        this.passphrase = passphrase;
    }

    public static OpenPgpDecryptor fromKeyFile(Path file, String passphrase) throws IOException {
        try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(file))) {
            return new OpenPgpDecryptor(new PGPSecretKeyRingCollection(in, new BcKeyFingerprintCalculator()),
                    passphrase.toCharArray());
        } catch (PGPException | RuntimeException e) {
            throw new IOException("encryption.privateKeyFile " + file + " is not an OpenPGP secret key: " + e.getMessage(), e);
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
                    PGPSecretKey secret = keys.getSecretKey(data.getKeyID());
                    if (secret == null) {
                        continue;
                    }
                    PGPPrivateKey key = secret.extractPrivateKey(new BcPBESecretKeyDecryptorBuilder(new BcPGPDigestCalculatorProvider())
                            .build(passphrase));
                    InputStream clear = data.getDataStream(new BcPublicKeyDataDecryptorFactory(key));
                    Object literal = new BcPGPObjectFactory(clear).nextObject();
                    if (!(literal instanceof PGPLiteralData literalData)) {
                        throw new IOException("the OpenPGP message holds no literal data");
                    }
                    return new Verifying(literalData.getInputStream(), data);
                }
            }
            throw new IOException("the snapshot is not encrypted to the configured private key (encryption.privateKeyFile)");
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
