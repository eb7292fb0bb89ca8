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
}
