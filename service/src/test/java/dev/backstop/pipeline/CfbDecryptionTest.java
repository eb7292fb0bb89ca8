package dev.backstop.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** The bulk CFB decryption against SunJCE's CFB, in pieces of every size, in place and not. */
class CfbDecryptionTest {

    @Test
    void decryptsWhatSunJceEncryptsWhateverTheUpdatesSizes() throws Exception {
        SplittableRandom random = new SplittableRandom(21);
        for (int round = 0; round < 300; round++) {
            byte[] key = bytes(random, 32);
            byte[] iv = round % 3 == 0 ? new byte[16] : bytes(random, 16);
            byte[] plain = bytes(random, random.nextInt(round < 100 ? 200 : 300_000));
            Cipher sun = Cipher.getInstance("AES/CFB/NoPadding", "SunJCE");
            sun.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
            byte[] sealed = sun.doFinal(plain);

            Cipher ours = Cipher.getInstance("AES/CFB/NoPadding", CfbDecryption.PROVIDER);
            ours.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
            boolean inPlace = round % 2 == 1;
            byte[] out = inPlace ? sealed.clone() : new byte[sealed.length];
            int at = 0;
            while (at < sealed.length) {
                int piece = Math.min(sealed.length - at, random.nextInt(4) == 0 ? random.nextInt(40) : random.nextInt(100_000));
                int n = inPlace ? ours.update(out, at, piece, out, at) : ours.update(sealed, at, piece, out, at);
                assertThat(n).isEqualTo(piece);
                at += piece;
            }
            assertThat(Arrays.equals(out, plain)).as("round %d, %d bytes", round, plain.length).isTrue();

            // after doFinal the cipher starts again from the IV
            assertThat(ours.doFinal()).isEmpty();
            assertThat(ours.doFinal(sealed)).isEqualTo(plain);
        }
    }

    @Test
    void encryptsAsSunJceDoes() throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        byte[] key = bytes(random, 32);
        byte[] iv = bytes(random, 16);
        byte[] plain = bytes(random, 70_001);
        Cipher sun = Cipher.getInstance("AES/CFB/NoPadding", "SunJCE");
        sun.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
        Cipher ours = Cipher.getInstance("AES/CFB/NoPadding", CfbDecryption.PROVIDER);
        ours.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
        assertThat(ours.doFinal(plain)).isEqualTo(sun.doFinal(plain));
    }

    private static byte[] bytes(SplittableRandom random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }
}
