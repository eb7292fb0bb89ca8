package dev.backstop.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.support.TestGpg;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages sealed under one session (a run's chunks): each is a whole OpenPGP message that stock
 * gpg decrypts alone, they share the key packet and nothing else, and the decryptor's session cache
 * never lets an altered message through.
 */
class OpenPgpSessionTest {
    static TestGpg alice;
    static OpenPgpEncryptor encryptor;

    @TempDir
    static Path dir;

    @BeforeAll
    static void keys() throws Exception {
        alice = TestGpg.create();
        encryptor = OpenPgpEncryptor.fromKeyFile(alice.exportPublicKey(dir.resolve("alice.asc")));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        alice.close();
    }

    private static byte[] seal(OpenPgpEncryptor.Session session, byte[] data) throws Exception {
        byte[] plain = new byte[OpenPgpEncryptor.plaintextLength(data.length)];
        System.arraycopy(data, 0, plain, OpenPgpEncryptor.LITERAL_OFFSET, data.length);
        return encryptor.seal(session, plain, data.length);
    }

    @Test
    void everyMessageOfASessionIsReadByGpgAloneAndInMemory() throws Exception {
        OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(alice.exportSecretKey(dir.resolve("alice-secret.asc")), "");
        OpenPgpEncryptor.Session session = encryptor.session();
        Random random = new Random(3);
        byte[] previous = null;
        for (int size : new int[] {0, 1, 191, 192, 8383, 8384, 65_536, 300_001, 1 << 20}) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            byte[] message = seal(session, data);
            assertThat(OpenPgpDecryptor.keyPacketLength(message, 0, message.length)).isEqualTo(session.keyPacket().length);
            assertThat(Arrays.copyOf(message, session.keyPacket().length)).isEqualTo(session.keyPacket());
            assertThat(OpenPgpDecryptor.sealedBody(message, 0, message.length)).as("decrypted in place")
                    .isEqualTo(session.keyPacket().length + 7);
            assertThat(OpenPgpDecryptor.sealedBody(message, 0, message.length - 1)).as("cut short").isEqualTo(-1);

            Path sealed = dir.resolve("m" + size + ".pgp");
            Path clear = dir.resolve("m" + size);
            Files.write(sealed, message);
            alice.decrypt(sealed, clear);
            assertThat(Files.readAllBytes(clear)).as("gpg -d of %d octets", size).isEqualTo(data);

            byte[] out = new byte[size + 3];
            int n = decryptor.decryptInto(message, 0, message.length, new byte[message.length], out, 3);
            assertThat(Arrays.copyOfRange(out, 3, 3 + n)).isEqualTo(data);
            try (InputStream in = decryptor.decrypt(new ByteArrayInputStream(message))) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
            if (previous != null) {
                assertThat(Arrays.copyOf(message, session.keyPacket().length))
                        .isEqualTo(Arrays.copyOf(previous, session.keyPacket().length));
            }
            previous = message;
        }
        byte[] same = new byte[1000];
        byte[] one = seal(session, same);
        byte[] two = seal(session, same);
        assertThat(one).as("each message has a random prefix of its own").isNotEqualTo(two);
        assertThat(encryptor.session().keyPacket()).as("a new session, a new key").isNotEqualTo(session.keyPacket());
    }

    @Test
    void aMessageAlteredAfterItsSessionKeyWasCachedStillFails() throws Exception {
        OpenPgpDecryptor decryptor = OpenPgpDecryptor.fromKeyFile(alice.exportSecretKey(dir.resolve("alice-secret2.asc")), "");
        OpenPgpEncryptor.Session session = encryptor.session();
        byte[] data = new byte[50_000];
        new Random(4).nextBytes(data);
        byte[] message = seal(session, data);
        int n = decryptor.decryptInto(message, 0, message.length, new byte[message.length], new byte[data.length], 0);
        assertThat(n).isEqualTo(data.length); // the session key is cached now
        int keyPacket = session.keyPacket().length;
        // in the key packet (not the cached one then), the random prefix, the literal header, the data, the MDC
        for (int at : new int[] {keyPacket - 3, keyPacket + 10, keyPacket + 7 + 20, message.length / 2, message.length - 1}) {
            byte[] altered = message.clone();
            altered[at] ^= 0x01;
            assertThatThrownBy(() -> decryptor.decryptInto(altered, 0, altered.length, new byte[altered.length],
                    new byte[data.length + 100], 0)).as("octet %d altered", at).isInstanceOf(java.io.IOException.class);
        }
        assertThatThrownBy(() -> decryptor.decryptInto(message, 0, message.length - 30, new byte[message.length],
                new byte[data.length + 100], 0)).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void theKeyPacketsLengthIsReadFromEitherHeaderFormat() {
        // old format, tag 1, one-octet length
        assertThat(OpenPgpDecryptor.keyPacketLength(new byte[] {(byte) 0x84, 3, 0, 0, 0, 9}, 0, 6)).isEqualTo(5);
        // old format, two-octet length, longer than the message: unknown
        assertThat(OpenPgpDecryptor.keyPacketLength(new byte[] {(byte) 0x85, 1, 0, 0}, 0, 4)).isEqualTo(-1);
        // new format, tag 1: one-, two- and five-octet lengths
        assertThat(OpenPgpDecryptor.keyPacketLength(new byte[] {(byte) 0xC1, 2, 7, 7}, 0, 4)).isEqualTo(4);
        byte[] two = new byte[400];
        two[0] = (byte) 0xC1;
        two[1] = (byte) 192;
        two[2] = 8; // 200 octets
        assertThat(OpenPgpDecryptor.keyPacketLength(two, 0, two.length)).isEqualTo(203);
        byte[] five = {(byte) 0xC1, (byte) 0xFF, 0, 0, 0, 2, 1, 1};
        assertThat(OpenPgpDecryptor.keyPacketLength(five, 0, five.length)).isEqualTo(8);
        byte[] negative = {(byte) 0xC1, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFD, 1, 1};
        assertThat(OpenPgpDecryptor.keyPacketLength(negative, 0, negative.length)).isEqualTo(-1);
        // another packet first, a partial length, not a packet at all
        assertThat(OpenPgpDecryptor.keyPacketLength(new byte[] {(byte) 0xD2, 2, 1, 1}, 0, 4)).isEqualTo(-1);
        assertThat(OpenPgpDecryptor.keyPacketLength(new byte[] {(byte) 0xC1, (byte) 0xE1, 1, 1}, 0, 4)).isEqualTo(-1);
        assertThat(OpenPgpDecryptor.keyPacketLength(new byte[] {0x01, 2, 1, 1}, 0, 4)).isEqualTo(-1);
    }
}
