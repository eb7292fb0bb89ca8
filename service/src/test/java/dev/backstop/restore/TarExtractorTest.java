package dev.backstop.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.source.TarExtractor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malicious archives are refused and write nothing outside the target. */
class TarExtractorTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"../x", "a/../../x", "/etc/backstop-test-x"})
    void entriesEscapingTheTargetAreRefused(String name) throws Exception {
        Path target = dir.resolve("target");
        byte[] tar = tar(file("ok.txt", "fine"), file(name, "evil"));
        assertThatThrownBy(() -> TarExtractor.extract(new ByteArrayInputStream(tar), target))
                .isInstanceOf(TarExtractor.UnsafeEntryException.class)
                .hasMessageContaining(name);
        assertThat(dir.resolve("x")).doesNotExist();
        assertThat(Path.of("/etc/backstop-test-x")).doesNotExist();
        assertNothingOutside(target);
    }

    @Test
    void symlinksPointingOutsideAreRefused() throws Exception {
        Path target = dir.resolve("target");
        for (String link : new String[] {"/", "../..", "/etc/passwd"}) {
            byte[] tar = tar(symlink("escape", link));
            assertThatThrownBy(() -> TarExtractor.extract(new ByteArrayInputStream(tar), target))
                    .isInstanceOf(TarExtractor.UnsafeEntryException.class)
                    .hasMessageContaining("points outside");
        }
        assertNothingOutside(target);
    }

    @Test
    void writingThroughAnEarlierSymlinkIsRefused() throws Exception {
        Path target = dir.resolve("target");
        Files.createDirectories(dir.resolve("inside-only"));
        // "sub" -> "." is inside, but then "sub/../../x"-style tricks or writing via the link must not happen.
        byte[] tar = tar(symlink("sub", "."), file("sub/x.txt", "via link"));
        assertThatThrownBy(() -> TarExtractor.extract(new ByteArrayInputStream(tar), target))
                .isInstanceOf(TarExtractor.UnsafeEntryException.class)
                .hasMessageContaining("through a symlink");
    }

    @Test
    void aSafeArchiveExtractsWithModes() throws Exception {
        Path target = dir.resolve("target");
        TarArchiveEntry script = file("bin/run.sh", "#!/bin/sh\n");
        script.setMode(0100750);
        int entries = TarExtractor.extract(new ByteArrayInputStream(tar(script, symlink("bin/alias", "run.sh"))), target);
        assertThat(entries).isEqualTo(2);
        assertThat(Files.readString(target.resolve("bin/run.sh"))).isEqualTo("#!/bin/sh\n");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("bin/run.sh"))))
                .isEqualTo("rwxr-x---");
        assertThat(Files.readSymbolicLink(target.resolve("bin/alias"))).isEqualTo(Path.of("run.sh"));
    }

    @Test
    void largeAndSmallFilesLinksAndDirectoryTimesComeOutAsTheyWentInThroughTheWriteBehind() throws Exception {
        // More content than the write-behind's buffers hold at once: the reading side waits for the writer, nothing is lost.
        byte[] large = new byte[(16 << 20) + 3_000_001]; // TarWriteBehind buffers 32 x 512 KiB
        new java.util.Random(4).nextBytes(large);
        java.util.List<TarArchiveEntry> entries = new java.util.ArrayList<>();
        TarArchiveEntry data = new TarArchiveEntry("data/", true);
        data.setModTime(java.util.Date.from(java.time.Instant.parse("2020-01-02T03:04:05Z")));
        data.setMode(040750);
        entries.add(data);
        TarArchiveEntry big = new TarArchiveEntry("data/large.bin", true);
        big.setSize(large.length);
        big.setMode(0100600);
        big.setModTime(java.util.Date.from(java.time.Instant.parse("2021-05-06T07:08:09Z")));
        CONTENT.put(big, large);
        entries.add(big);
        for (int i = 0; i < 200; i++) {
            entries.add(file("data/small/" + i + ".txt", "file " + i + "\n".repeat(i)));
        }
        entries.add(file("data/empty", ""));
        TarArchiveEntry hard = new TarArchiveEntry("data/again.bin", TarConstants.LF_LINK, true);
        hard.setLinkName("data/large.bin");
        entries.add(hard);
        Path target = dir.resolve("target");
        int count = TarExtractor.extract(new ByteArrayInputStream(tar(entries.toArray(TarArchiveEntry[]::new))), target);

        assertThat(count).isEqualTo(entries.size());
        assertThat(Files.readAllBytes(target.resolve("data/large.bin"))).isEqualTo(large);
        assertThat(Files.isSameFile(target.resolve("data/again.bin"), target.resolve("data/large.bin"))).isTrue();
        for (int i = 0; i < 200; i++) {
            assertThat(Files.readString(target.resolve("data/small/" + i + ".txt"))).isEqualTo("file " + i + "\n".repeat(i));
        }
        assertThat(Files.size(target.resolve("data/empty"))).isZero();
        assertThat(Files.getLastModifiedTime(target.resolve("data/large.bin")).toInstant()).isEqualTo("2021-05-06T07:08:09Z");
        assertThat(Files.getLastModifiedTime(target.resolve("data")).toInstant()).as("directories last").isEqualTo("2020-01-02T03:04:05Z");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("data"))))
                .isEqualTo("rwxr-x---");
        assertThat(writerThreads()).isEmpty();
    }

    @Test
    void moreEntriesWithoutContentThanTheWriterQueuesAllComeOut() throws Exception {
        // empty files and directories carry no buffer: the queue of entries (4096) bounds them
        java.util.List<TarArchiveEntry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < 6000; i++) {
            entries.add(i % 3 == 0 ? new TarArchiveEntry("d/" + i + "/", true) : file("e/" + i, ""));
        }
        Path target = dir.resolve("target");
        assertThat(TarExtractor.extract(new ByteArrayInputStream(tar(entries.toArray(TarArchiveEntry[]::new))), target))
                .isEqualTo(6000);
        try (Stream<Path> all = Files.walk(target.resolve("e"))) {
            assertThat(all.filter(Files::isRegularFile).count()).isEqualTo(4000);
        }
        assertThat(writerThreads()).isEmpty();
    }

    @Test
    void aStreamThatFailsMidwayFailsTheExtractionWithItsOwnErrorAndTheWriterHasStoppedWhenItReturns() throws Exception {
        java.util.List<TarArchiveEntry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < 100; i++) {
            entries.add(file("f/" + i, "x".repeat(100_000)));
        }
        byte[] tar = tar(entries.toArray(TarArchiveEntry[]::new));
        java.io.InputStream failing = new java.io.FilterInputStream(new ByteArrayInputStream(tar)) {
            private long read;

            @Override
            public int read(byte[] b, int off, int len) throws java.io.IOException {
                if (read > tar.length / 2) {
                    throw new java.io.IOException("chunk 42 does not verify");
                }
                int n = super.read(b, off, Math.min(len, 8192));
                read += Math.max(n, 0);
                return n;
            }
        };
        Path target = dir.resolve("target");
        assertThatThrownBy(() -> TarExtractor.extract(failing, target)).hasMessage("chunk 42 does not verify");
        assertThat(writerThreads()).as("nothing writes into the target once extract returned").isEmpty();
        long files;
        try (Stream<Path> all = Files.walk(target)) {
            files = all.filter(Files::isRegularFile).count();
        }
        assertThat(files).isBetween(1L, 99L);
    }

    private static java.util.List<String> writerThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).filter(n -> n.startsWith("tar-write-")).toList();
    }

    private void assertNothingOutside(Path target) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            assertThat(all.filter(p -> !p.equals(dir) && !p.startsWith(target) && !p.getFileName().toString().equals("inside-only")))
                    .isEmpty();
        }
    }

    private static final java.util.Map<TarArchiveEntry, byte[]> CONTENT = new java.util.IdentityHashMap<>();

    private static TarArchiveEntry file(String name, String content) {
        TarArchiveEntry entry = new TarArchiveEntry(name, true);
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        entry.setSize(bytes.length);
        entry.setMode(0100644);
        CONTENT.put(entry, bytes);
        return entry;
    }

    private static TarArchiveEntry symlink(String name, String target) {
        TarArchiveEntry entry = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        entry.setLinkName(target);
        return entry;
    }

    private static byte[] tar(TarArchiveEntry... entries) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (TarArchiveEntry entry : entries) {
                tar.putArchiveEntry(entry);
                byte[] content = CONTENT.get(entry);
                if (content != null) {
                    tar.write(content);
                }
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }
}
