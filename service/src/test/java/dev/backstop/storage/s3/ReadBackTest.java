package dev.backstop.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.support.S3rverServer;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * The read-back catches a store that keeps something other than what was sent. s3rver does not
 * decode aws-chunked bodies; an SDK client left at its defaults sends them, so s3rver stores the
 * framing. Backstop's own uploads never send it (see S3CompatibilityTest); here the default client
 * produces the corrupted object for real, and the read-back must refuse it and delete it.
 */
class ReadBackTest {
    static S3rverServer s3rver;
    static S3Client chunked;

    @BeforeAll
    static void start() throws Exception {
        s3rver = S3rverServer.start("readback");
        chunked = S3Client.builder().region(Region.US_EAST_1).endpointOverride(s3rver.endpoint()).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3rverServer.ACCESS_KEY,
                        S3rverServer.SECRET_KEY))).build();
    }

    @AfterAll
    static void stop() throws Exception {
        chunked.close();
        s3rver.close();
    }

    @Test
    void aStoreThatKeptTheChunkFramingFailsTheReadBackAndLosesTheObject() {
        byte[] bytes = new byte[256 * 1024];
        new Random(7).nextBytes(bytes);
        chunked.putObject(r -> r.bucket("readback").key("framed.bin"), RequestBody.fromBytes(bytes));
        assertThat(chunked.getObjectAsBytes(r -> r.bucket("readback").key("framed.bin")).asByteArray())
                .as("s3rver really stored something else").isNotEqualTo(bytes);

        SentDigests digests = new SentDigests();
        digests.update(bytes, 0, bytes.length);
        assertThatThrownBy(() -> S3Target.readBack(chunked, "readback", "framed.bin", digests,
                List.of(SentDigests.Part.of(1, bytes, bytes.length)), false, ReadBackTest::direct))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("read-back of s3://readback/framed.bin failed")
                .hasMessageContaining(bytes.length + " were sent")
                .hasMessageContaining("aws-chunked");
        assertThatThrownBy(() -> chunked.headObject(r -> r.bucket("readback").key("framed.bin")))
                .as("the mismatching object is deleted").isInstanceOf(NoSuchKeyException.class);
    }

    @Test
    void theSameBytesSentWithoutFramingPassTheReadBack() throws Exception {
        byte[] bytes = "stored as sent\n".getBytes();
        try (S3Client plain = S3Client.builder().region(Region.US_EAST_1).endpointOverride(s3rver.endpoint()).forcePathStyle(true)
                .serviceConfiguration(c -> c.chunkedEncodingEnabled(false))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3rverServer.ACCESS_KEY,
                        S3rverServer.SECRET_KEY))).build()) {
            plain.putObject(r -> r.bucket("readback").key("plain.bin"), RequestBody.fromBytes(bytes));
            SentDigests digests = new SentDigests();
            digests.update(bytes, 0, bytes.length);
            S3Target.readBack(plain, "readback", "plain.bin", digests, List.of(SentDigests.Part.of(1, bytes, bytes.length)), false,
                    ReadBackTest::direct);
            assertThat(plain.getObjectAsBytes(r -> r.bucket("readback").key("plain.bin")).asByteArray()).isEqualTo(bytes);
        }
    }

    private static <T> T direct(String what, dev.backstop.resilience.Guard.IoCall<T> call) throws IOException {
        return call.call();
    }
}
