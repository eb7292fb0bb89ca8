package dev.backstop.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.storage.filesystem.FilesystemTargetFactory;
import dev.backstop.storage.s3.S3Target;
import dev.backstop.storage.s3.S3TargetFactory;
import dev.backstop.support.S3ProxyServer;
import io.dropwizard.util.DataSize;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Both targets behave the same: publish on commit only, abort leaves nothing, sweep removes leftovers. */
class StorageTargetsTest {
    static S3ProxyServer s3;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = S3ProxyServer.start();
        s3.createBucket("targets");
    }

    @AfterAll
    static void stopS3() throws Exception {
        s3.close();
    }

    static StorageTarget target(String type) {
        if (type.equals("filesystem")) {
            return new FilesystemTargetFactory("fs", dir.resolve("fs-" + System.nanoTime())).build();
        }
        return new S3TargetFactory("s3", "targets", "p" + System.nanoTime(), null, s3.endpoint(), true, S3ProxyServer.ACCESS_KEY,
                S3ProxyServer.SECRET_KEY, null, null, null, DataSize.mebibytes(5), 2, S3TargetFactory.ChecksumMode.WHEN_REQUIRED,
                null).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"filesystem", "s3"})
    void uploadsAreVisibleOnlyAfterCommit(String type) throws Exception {
        try (StorageTarget target = target(type)) {
            byte[] big = new byte[12 * 1024 * 1024 + 5]; // three parts on S3
            new Random(3).nextBytes(big);
            try (ObjectUpload upload = target.upload("a/b/data.bin")) {
                upload.write(big, 0, 7_000_000);
                assertThat(target.exists("a/b/data.bin")).isFalse();
                upload.write(big, 7_000_000, big.length - 7_000_000);
                upload.commit();
            }
            try (InputStream in = target.open("a/b/data.bin")) {
                assertThat(Arrays.equals(in.readAllBytes(), big)).isTrue();
            }
            target.put("a/b/small.json", "{}".getBytes(), "application/json");
            assertThat(target.list("a")).containsExactly("a/b/data.bin", "a/b/small.json");
            target.delete("a/b/data.bin");
            target.delete("a/b/data.bin"); // deleting twice is fine
            assertThat(target.exists("a/b/data.bin")).isFalse();
            assertThatThrownBy(() -> target.open("a/b/data.bin")).isInstanceOf(NoSuchFileException.class);
        }
    }

    /**
     * Sizes around an S3 upload's boundaries (empty, one byte, a part of 5 MiB here and one byte
     * either side, several parts), written in pieces that straddle them, one byte at a time among
     * them: each object reads back as written, on both targets.
     */
    @ParameterizedTest
    @ValueSource(strings = {"filesystem", "s3"})
    void objectsOfEverySizeAroundTheBuffersBoundariesReadBackAsWritten(String type) throws Exception {
        int part = 5 * 1024 * 1024;
        int[] sizes = {0, 1, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 700_001, part - 1, part, part + 1, 2 * part, 2 * part + 3};
        Random random = new Random(11);
        try (StorageTarget target = target(type)) {
            for (int size : sizes) {
                byte[] data = new byte[size];
                random.nextBytes(data);
                String key = "sizes/" + size + ".bin";
                try (ObjectUpload upload = target.upload(key)) {
                    int at = 0;
                    while (at < size) {
                        int piece = Math.min(size - at, switch (random.nextInt(4)) {
                            case 0 -> 1;
                            case 1 -> 100_003;
                            case 2 -> 1_000_001;
                            default -> 3_000_017;
                        });
                        if (piece == 1) {
                            upload.write(data[at]);
                        } else {
                            upload.write(data, at, piece);
                        }
                        at += piece;
                    }
                    upload.commit();
                }
                try (InputStream in = target.open(key)) {
                    assertThat(Arrays.equals(in.readAllBytes(), data)).as("%d bytes", size).isTrue();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"filesystem", "s3"})
    void closingWithoutCommitLeavesNothing(String type) throws Exception {
        try (StorageTarget target = target(type)) {
            byte[] chunk = new byte[6 * 1024 * 1024];
            try (ObjectUpload upload = target.upload("x/data.bin")) {
                upload.write(chunk); // S3: one part already uploaded
            }
            assertThat(target.exists("x/data.bin")).isFalse();
            assertThat(target.list("")).isEmpty();
            if (target instanceof S3Target s3Target) {
                assertThat(s3Target.openUploads()).isEmpty();
            } else {
                try (Stream<Path> files = Files.walk(dir)) {
                    assertThat(files.filter(p -> p.toString().contains(".part-")).toList()).isEmpty();
                }
            }
        }
    }

    @Test
    void s3SweepAbortsStaleMultipartUploads() throws Exception {
        try (StorageTarget target = target("s3")) {
            S3Target s3Target = (S3Target) target;
            ObjectUpload abandoned = target.upload("crashed/data.bin");
            abandoned.write(new byte[6 * 1024 * 1024]); // starts a multipart upload, never finished
            assertThat(s3Target.openUploads()).hasSize(1);
            assertThat(target.sweepStaleUploads(Duration.ofHours(1))).as("too young to sweep").isZero();
            assertThat(target.sweepStaleUploads(Duration.ZERO)).isEqualTo(1);
            assertThat(s3Target.openUploads()).isEmpty();
        }
    }

    @Test
    void filesystemSweepRemovesOldPartFilesAndRefusesEscapingKeys() throws Exception {
        Path root = dir.resolve("sweep");
        try (StorageTarget target = new FilesystemTargetFactory("fs", root).build()) {
            ObjectUpload crashed = target.upload("s/data.bin");
            crashed.write(new byte[10]);
            Path part;
            try (Stream<Path> files = Files.walk(root)) {
                part = files.filter(p -> p.getFileName().toString().contains(".part-")).findFirst().orElseThrow();
            }
            Files.setLastModifiedTime(part, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
            assertThat(target.sweepStaleUploads(Duration.ofHours(24))).isEqualTo(1);
            assertThat(Files.exists(part)).isFalse();
            assertThatThrownBy(() -> target.upload("../outside")).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
