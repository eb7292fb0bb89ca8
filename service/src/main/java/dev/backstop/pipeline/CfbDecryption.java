package dev.backstop.pipeline;

import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.CipherSpi;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES in CFB mode (128-bit segments, no padding) whose <em>decryption</em> runs as one bulk ECB
 * encryption: in CFB every keystream block is the encryption of the ciphertext block before it, so
 * all of them are known from the ciphertext and the JDK's ECB (which runs the CPU's vector AES
 * instructions over many blocks at once) computes them together. SunJCE's CFB does one block at a
 * time, about a tenth of the speed, and OpenPGP's integrity-protected packets are CFB: this is what
 * decrypting a restore's chunks costs. Encryption is serial by the mode's definition and is
 * SunJCE's own. Offered to Bouncy Castle as the content provider ({@link #PROVIDER}), never
 * registered JVM-wide.
 */
public final class CfbDecryption extends CipherSpi {
    /** A provider offering only {@code AES/CFB/NoPadding}. */
    public static final Provider PROVIDER = new CfbProvider();

    private static final int BLOCK = 16;
    /** Keystream computed per ECB call: bounds the scratch buffer whatever the update's size. */
    private static final int SPAN = 64 << 10;
    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.nativeOrder());

    private Cipher ecb;
    private Cipher encrypting;
    private byte[] iv;
    /** The previous ciphertext block (the IV at first): the next keystream block is its encryption. */
    private final byte[] register = new byte[BLOCK];
    /** The keystream block being used, and the ciphertext bytes of its block seen so far. */
    private final byte[] keystream = new byte[BLOCK];
    private final byte[] partial = new byte[BLOCK];
    private int used;
    private byte[] scratch = new byte[0];

    @Override
    protected void engineSetMode(String mode) throws NoSuchAlgorithmException {
        if (!"CFB".equalsIgnoreCase(mode) && !"CFB128".equalsIgnoreCase(mode)) {
            throw new NoSuchAlgorithmException("only CFB");
        }
    }

    @Override
    protected void engineSetPadding(String padding) throws NoSuchPaddingException {
        if (!"NoPadding".equalsIgnoreCase(padding)) {
            throw new NoSuchPaddingException("only NoPadding");
        }
    }

    @Override
    protected int engineGetBlockSize() {
        return BLOCK;
    }

    @Override
    protected int engineGetOutputSize(int inputLen) {
        return encrypting != null ? encrypting.getOutputSize(inputLen) : inputLen;
    }

    @Override
    protected byte[] engineGetIV() {
        return iv == null ? null : iv.clone();
    }

    @Override
    protected AlgorithmParameters engineGetParameters() {
        if (iv == null) {
            return null;
        }
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("AES", "SunJCE");
            params.init(new IvParameterSpec(iv));
            return params;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    protected void engineInit(int opmode, Key key, SecureRandom random) throws InvalidKeyException {
        try {
            engineInit(opmode, key, (AlgorithmParameterSpec) null, random);
        } catch (InvalidAlgorithmParameterException e) {
            throw new InvalidKeyException(e.getMessage(), e);
        }
    }

    @Override
    protected void engineInit(int opmode, Key key, AlgorithmParameters params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        try {
            engineInit(opmode, key, params == null ? null : params.getParameterSpec(IvParameterSpec.class), random);
        } catch (java.security.spec.InvalidParameterSpecException e) {
            throw new InvalidAlgorithmParameterException(e.getMessage(), e);
        }
    }

    @Override
    protected void engineInit(int opmode, Key key, AlgorithmParameterSpec params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        if (params != null && !(params instanceof IvParameterSpec)) {
            throw new InvalidAlgorithmParameterException("CFB needs an IvParameterSpec");
        }
        byte[] start = params == null ? new byte[BLOCK] : ((IvParameterSpec) params).getIV();
        if (start.length != BLOCK) {
            throw new InvalidAlgorithmParameterException("the IV must be " + BLOCK + " bytes");
        }
        iv = start.clone();
        try {
            if (opmode == Cipher.DECRYPT_MODE || opmode == Cipher.UNWRAP_MODE) {
                encrypting = null;
                if (ecb == null) { // kept across inits: the JDK's AES expands a key only when it changes (a run's chunks share one)
                    ecb = Cipher.getInstance("AES/ECB/NoPadding", "SunJCE");
                }
                ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key.getEncoded(), "AES"));
                System.arraycopy(iv, 0, register, 0, BLOCK);
                used = BLOCK;
            } else {
                encrypting = Cipher.getInstance("AES/CFB/NoPadding", "SunJCE");
                encrypting.init(opmode, key, new IvParameterSpec(iv), random);
            }
        } catch (NoSuchAlgorithmException | NoSuchPaddingException | java.security.NoSuchProviderException e) {
            throw new IllegalStateException("SunJCE's AES is part of every JDK", e);
        }
    }

    @Override
    protected byte[] engineUpdate(byte[] input, int inputOffset, int inputLen) {
        if (encrypting != null) {
            return encrypting.update(input, inputOffset, inputLen);
        }
        byte[] out = new byte[inputLen];
        try {
            engineUpdate(input, inputOffset, inputLen, out, 0);
        } catch (ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    @Override
    protected int engineUpdate(byte[] input, int inputOffset, int inputLen, byte[] output, int outputOffset)
            throws ShortBufferException {
        if (encrypting != null) {
            return encrypting.update(input, inputOffset, inputLen, output, outputOffset);
        }
        if (output.length - outputOffset < inputLen) {
            throw new ShortBufferException("needs " + inputLen + " bytes of output");
        }
        try {
            decrypt(input, inputOffset, inputLen, output, outputOffset);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/ECB failed: " + e.getMessage(), e);
        }
        return inputLen;
    }

    @Override
    protected byte[] engineDoFinal(byte[] input, int inputOffset, int inputLen) throws IllegalBlockSizeException, BadPaddingException {
        if (encrypting != null) {
            return input == null ? encrypting.doFinal() : encrypting.doFinal(input, inputOffset, inputLen);
        }
        byte[] out = engineUpdate(input == null ? new byte[0] : input, inputOffset, inputLen);
        restart();
        return out;
    }

    @Override
    protected int engineDoFinal(byte[] input, int inputOffset, int inputLen, byte[] output, int outputOffset)
            throws ShortBufferException, IllegalBlockSizeException, BadPaddingException {
        if (encrypting != null) {
            return input == null ? encrypting.doFinal(output, outputOffset)
                    : encrypting.doFinal(input, inputOffset, inputLen, output, outputOffset);
        }
        int n = engineUpdate(input == null ? new byte[0] : input, inputOffset, inputLen, output, outputOffset);
        restart();
        return n;
    }

    /** After doFinal the cipher starts again from its IV, as the JCA asks. */
    private void restart() {
        System.arraycopy(iv, 0, register, 0, BLOCK);
        used = BLOCK;
    }

    private void decrypt(byte[] in, int at, int length, byte[] out, int to) throws GeneralSecurityException {
        int done = 0;
        // The rest of a block begun by an earlier update.
        while (used < BLOCK && done < length) {
            byte c = in[at + done];
            out[to + done] = (byte) (c ^ keystream[used]);
            partial[used++] = c;
            done++;
            if (used == BLOCK) {
                System.arraycopy(partial, 0, register, 0, BLOCK);
            }
        }
        // Whole blocks: their keystream is the encryption of the register and of every block but the last.
        while (length - done >= BLOCK) {
            int blocks = Math.min((length - done) / BLOCK, SPAN / BLOCK);
            int bytes = blocks * BLOCK;
            if (scratch.length < bytes) {
                scratch = new byte[SPAN];
            }
            // Straight from the input into scratch (an ECB call in place would copy its input first).
            ecb.update(register, 0, BLOCK, scratch, 0);
            if (bytes > BLOCK) {
                ecb.update(in, at + done, bytes - BLOCK, scratch, BLOCK);
            }
            // The last ciphertext block is the next register; saved before the output may overwrite it (in place).
            System.arraycopy(in, at + done + bytes - BLOCK, register, 0, BLOCK);
            int i = 0;
            for (; i + 8 <= bytes; i += 8) { // eight octets at a time
                LONGS.set(out, to + done + i, (long) LONGS.get(in, at + done + i) ^ (long) LONGS.get(scratch, i));
            }
            for (; i < bytes; i++) {
                out[to + done + i] = (byte) (in[at + done + i] ^ scratch[i]);
            }
            done += bytes;
        }
        // A block's beginning: its keystream now, the rest in a later update.
        if (done < length) {
            ecb.update(register, 0, BLOCK, keystream, 0);
            used = 0;
            while (done < length) {
                byte c = in[at + done];
                out[to + done] = (byte) (c ^ keystream[used]);
                partial[used++] = c;
                done++;
            }
        }
    }

    private static final class CfbProvider extends Provider {
        private static final long serialVersionUID = 1L;

        CfbProvider() {
            super("BackstopCfb", "1", "AES/CFB/NoPadding with bulk decryption");
            putService(new Service(this, "Cipher", "AES/CFB/NoPadding", CfbDecryption.class.getName(), null, null) {
                @Override
                public Object newInstance(Object constructorParameter) {
                    return new CfbDecryption();
                }
            });
        }
    }
}
