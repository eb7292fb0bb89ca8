package dev.backstop.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

class TarFilesTest {

    @Test
    void everyRegularFileIsFramedAndTheStreamPassesUnchanged() throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar, "UTF-8")) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            add(out, "base/1/1259", new byte[8192 * 40]);
            TarArchiveEntry dir = new TarArchiveEntry("base/2/");
            out.putArchiveEntry(dir);
            out.closeArchiveEntry();
            add(out, "a/" + "long-name-".repeat(20) + "x.txt", new byte[300_000]);
            add(out, "empty", new byte[0]);
            add(out, "PG_VERSION", "15\n".getBytes(StandardCharsets.UTF_8));
        }
        byte[] stream = tar.toByteArray();
        List<String> events = new ArrayList<>();
        ByteArrayOutputStream passed = new ByteArrayOutputStream();
        FileChunks recorder = new FileChunks() {
            @Override
            public boolean reuse(String path, Identity identity) {
                throw new AssertionError("a tar is never reused");
            }

            @Override
            public void startFile() {
                throw new AssertionError("the aligned variant is called");
            }

            @Override
            public void startFile(int alignment) {
                events.add("start@" + passed.size() + "/" + alignment);
            }

            @Override
            public void endFile(String path, Identity identity) {
                events.add("end " + path + "@" + passed.size());
            }
        };
        try (TarFiles files = new TarFiles(passed, recorder, name -> name.startsWith("base/") ? 8192 : 1)) {
            for (int i = 0; i < stream.length; i += 1000) { // odd write sizes across record boundaries
                files.write(stream, i, Math.min(1000, stream.length - i));
            }
        }
        assertThat(passed.toByteArray()).isEqualTo(stream);
        assertThat(events).as("the two files of 256 KiB or more, not the empty and small ones").hasSize(4);
        int start = Integer.parseInt(events.get(0).substring(6, events.get(0).indexOf('/')));
        assertThat(events.get(0)).endsWith("/8192");
        assertThat(start % 512).isZero();
        assertThat(java.util.Arrays.copyOfRange(stream, start - 512, start - 412)).startsWith("base/1/1259".getBytes(StandardCharsets.UTF_8));
        assertThat(events.get(1)).isEqualTo("end base/1/1259@" + (start + 8192 * 40));
        assertThat(events.get(2)).endsWith("/1");
        assertThat(events.get(3)).as("the name of the ustar header (a pax path is not read: names only choose the alignment)")
                .startsWith("end a/long-name-");

    }

    private static void add(TarArchiveOutputStream out, String name, byte[] content) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name);
        entry.setSize(content.length);
        out.putArchiveEntry(entry);
        out.write(content);
        out.closeArchiveEntry();
    }
}
