package dev.backstop.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.storage.s3.S3TargetFactory;
import dev.backstop.support.S3ProxyServer;
import dev.backstop.support.S3rverServer;
import io.dropwizard.util.DataSize;
import java.io.InputStream;
import java.net.URI;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What is stored is byte for byte what was sent, on two independent S3 implementations (S3Proxy,
 * and s3rver, which does not decode aws-chunked uploads), with either checksum mode.
 */
class S3CompatibilityTest {
    static S3ProxyServer s3proxy;
    static S3rverServer s3rver;

    @BeforeAll
    static void start() throws Exception {
        s3proxy = S3ProxyServer.start();
        s3proxy.createBucket("compat");
        s3rver = S3rverServer.start("compat");
    }

    @AfterAll
    static void stop() throws Exception {
        s3proxy.close();
        s3rver.close();
    }

    static Stream<Arguments> stores() {
        // S3Proxy answers 501 to the SDK's WHEN_SUPPORTED checksum headers: it is tested with WHEN_REQUIRED,
        // the mode the README gives for S3-compatible stores.
        return Stream.of(Arguments.of("s3proxy", S3TargetFactory.ChecksumMode.WHEN_REQUIRED),
                Arguments.of("s3rver", S3TargetFactory.ChecksumMode.WHEN_REQUIRED),
                Arguments.of("s3rver", S3TargetFactory.ChecksumMode.WHEN_SUPPORTED));
    }

    static StorageTarget target(String store, S3TargetFactory.ChecksumMode mode) {
        URI endpoint = store.equals("s3proxy") ? s3proxy.endpoint() : s3rver.endpoint();
        String access = store.equals("s3proxy") ? S3ProxyServer.ACCESS_KEY : S3rverServer.ACCESS_KEY;
        String secret = store.equals("s3proxy") ? S3ProxyServer.SECRET_KEY : S3rverServer.SECRET_KEY;
        return new S3TargetFactory("compat", "compat", "p" + System.nanoTime(), null, endpoint, true, access, secret, null, null,
                null, DataSize.mebibytes(5), 2, mode, null).build();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("stores")
    void storedObjectsAreExactlyTheBytesSent(String store, S3TargetFactory.ChecksumMode mode) throws Exception {
        try (StorageTarget target = target(store, mode)) {
            byte[] small = "a manifest, small enough for one PUT\n".getBytes();
            target.put("m.json", small, "application/json");
            assertThat(read(target, "m.json")).isEqualTo(small);

            byte[] single = random(1 << 20, 1);
            try (ObjectUpload upload = target.upload("single.bin")) {
                upload.write(single);
                upload.commit();
            }
            assertThat(read(target, "single.bin")).isEqualTo(single);

            byte[] multi = random(11 * 1024 * 1024 + 7, 2); // three parts of 5 MiB
            try (ObjectUpload upload = target.upload("multi.bin")) {
                upload.write(multi);
                upload.commit();
            }
            assertThat(read(target, "multi.bin")).isEqualTo(multi);
        }
    }

    /** s3rver answers 501 Not Implemented to ListMultipartUploads: noted once, never retried, never asked again. */
    @org.junit.jupiter.api.Test
    void aStoreWithoutListMultipartUploadsIsNotAskedAgain() throws Exception {
        assertThat(dev.backstop.storage.s3.S3Failures.INSTANCE.classify(
                software.amazon.awssdk.services.s3.model.S3Exception.builder().statusCode(501).build()))
                .isEqualTo(dev.backstop.resilience.FailureClassifier.Verdict.FINAL);
        try (StorageTarget target = target("s3rver", S3TargetFactory.ChecksumMode.WHEN_REQUIRED)) {
            assertThat(target.sweepStaleUploads(java.time.Duration.ZERO)).isZero();
            assertThat(((dev.backstop.storage.s3.S3Target) target).listsMultipartUploads()).as("s3rver said 501").isFalse();
            assertThat(target.sweepStaleUploads(java.time.Duration.ZERO)).as("not asked again").isZero();
        }
    }

    private static byte[] read(StorageTarget target, String key) throws Exception {
        try (InputStream in = target.open(key)) {
            return in.readAllBytes();
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
