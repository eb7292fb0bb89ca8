package dev.backstop.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.pipeline.OpenPgpDecryptor;
import dev.backstop.pipeline.OpenPgpEncryptor;
import dev.backstop.support.TestGpg;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decryption with gpg-made keys: the right key round-trips, a wrong key and a tampered message fail with their reasons. */
class OpenPgpDecryptorTest {
    static TestGpg alice;
    static TestGpg mallory;

    @TempDir
    static Path dir;

    @BeforeAll
    static void keys() throws Exception {
        alice = TestGpg.create();
        mallory = TestGpg.create();
    }

    @AfterAll
    static void cleanUp() throws Exception {
        alice.close();
        mallory.close();
    }

    private static byte[] encryptToAlice(byte[] plain) throws Exception {
        OpenPgpEncryptor encryptor = OpenPgpEncryptor.fromKeyFile(alice.exportPublicKey(dir.resolve("alice.asc")));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream enc = encryptor.encrypt(out)) {
            enc.write(plain);
        }
        return out.toByteArray();
    }

    @Test
    void theRecipientsKeyDecrypts() throws Exception {
        byte[] plain = new byte[300_000];
        new Random(5).nextBytes(plain);
        OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(alice.exportSecretKey(dir.resolve("alice-secret.asc")), "");
        try (InputStream in = decryptor.decrypt(new ByteArrayInputStream(encryptToAlice(plain)))) {
            assertThat(in.readAllBytes()).isEqualTo(plain);
        }
    }

    @Test
    void aCurve25519KeyDecryptsStreamedAndInMemoryAsAnRsaKeyDoes() throws Exception {
        try (TestGpg carol = TestGpg.create("", "future-default")) {
            assertThat(carol.run("--list-keys", "--with-colons")).as("gpg made a cv25519 key").contains(":cv25519:");
            OpenPgpEncryptor encryptor = OpenPgpEncryptor.fromKeyFile(carol.exportPublicKey(dir.resolve("carol.asc")));
            OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(carol.exportSecretKey(dir.resolve("carol-secret.asc")), "");
            byte[] plain = new byte[70_000];
            new Random(11).nextBytes(plain);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (OutputStream enc = encryptor.encrypt(out)) {
                enc.write(plain);
            }
            try (InputStream in = decryptor.decrypt(new ByteArrayInputStream(out.toByteArray()))) {
                assertThat(in.readAllBytes()).isEqualTo(plain);
            }
            byte[] buffer = new byte[OpenPgpEncryptor.plaintextLength(plain.length)];
            System.arraycopy(plain, 0, buffer, OpenPgpEncryptor.LITERAL_OFFSET, plain.length);
            byte[] sealed = encryptor.seal(encryptor.session(), buffer, plain.length);
            byte[] clear = new byte[plain.length];
            assertThat(decryptor.decryptInto(sealed, 0, sealed.length, new byte[sealed.length], clear, 0)).isEqualTo(plain.length);
            assertThat(clear).isEqualTo(plain);
            assertThat(decryptor.decrypts(encryptor)).isTrue();
        }
    }

    @Test
    void anotherKeyIsRefused() throws Exception {
        OpenPgpDecryptor wrong = OpenPgpDecryptor.fromKeyFile(mallory.exportSecretKey(dir.resolve("mallory-secret.asc")), "");
        assertThatThrownBy(() -> wrong.decrypt(new ByteArrayInputStream(encryptToAlice("secret".getBytes()))).readAllBytes())
                .hasMessageContaining("not encrypted to the configured private key");
    }

    @Test
    void aTamperedMessageFailsTheIntegrityCheck() throws Exception {
        byte[] plain = new byte[100_000];
        byte[] message = encryptToAlice(plain);
        message[message.length / 2] ^= 0x40;
        OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(alice.exportSecretKey(dir.resolve("alice-secret2.asc")), "");
        assertThatThrownBy(() -> {
            try (InputStream in = decryptor.decrypt(new ByteArrayInputStream(message))) {
                in.readAllBytes();
            }
        }).hasMessageContaining("integrity");
    }
    @Test
    void aChunkDecryptedInMemoryEqualsItsStreamedDecryptionWhateverItsSize() throws Exception {
        OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(alice.exportSecretKey(dir.resolve("alice-secret3.asc")), "");
        Random random = new Random(8);
        // empty, one octet, around a partial body length (64 KiB buffers), a chunk's usual size
        for (int size : new int[] {0, 1, 65_535, 65_536, 65_537, 200_003, 1 << 20}) {
            byte[] plain = new byte[size];
            random.nextBytes(plain);
            byte[] message = encryptToAlice(plain);
            byte[] padded = new byte[message.length + 10];
            System.arraycopy(message, 0, padded, 7, message.length);
            byte[] out = new byte[size + 5];
            int n = decryptor.decryptInto(padded, 7, message.length, new byte[message.length], out, 5);
            assertThat(n).as("size %d", size).isEqualTo(size);
            assertThat(java.util.Arrays.copyOfRange(out, 5, 5 + n)).isEqualTo(plain);
        }
    }

    @Test
    void aChunkAlteredAnywhereOrCutShortFailsInMemoryDecryption() throws Exception {
        OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(alice.exportSecretKey(dir.resolve("alice-secret4.asc")), "");
        byte[] plain = new byte[150_000];
        new Random(9).nextBytes(plain);
        byte[] message = encryptToAlice(plain);
        // the encrypted prefix, the middle, the literal packet's header, the last octets (the MDC)
        for (int at : new int[] {message.length - 150_000 - 60, message.length / 2, message.length - 21, message.length - 1}) {
            byte[] altered = message.clone();
            altered[at] ^= 0x01;
            assertThatThrownBy(() -> decryptor.decryptInto(altered, 0, altered.length, new byte[altered.length],
                    new byte[plain.length + 100], 0)).as("octet %d altered", at).isInstanceOf(java.io.IOException.class);
        }
        assertThatThrownBy(() -> decryptor.decryptInto(message, 0, message.length - 30, new byte[message.length],
                new byte[plain.length + 100], 0)).isInstanceOf(java.io.IOException.class);
        OpenPgpDecryptor wrong = OpenPgpDecryptor.fromKeyFile(mallory.exportSecretKey(dir.resolve("mallory-secret2.asc")), "");
        assertThatThrownBy(() -> wrong.decryptInto(message, 0, message.length, new byte[message.length], new byte[plain.length], 0))
                .hasMessageContaining("not encrypted to the configured private key");
    }
}
