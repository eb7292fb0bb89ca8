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
