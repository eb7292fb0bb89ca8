package dev.backstop.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deployment/install.sh} with DESTDIR: the same tree however often it runs, and it never overwrites edited config. */
class InstallScriptTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path work;

    private String install(Path root, Path jar) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("bash", REPO.resolve("deployment/install.sh").toString(), jar.toString())
                .redirectErrorStream(true);
        builder.environment().put("DESTDIR", root.toString());
        Process p = builder.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        return output;
    }

    /** Every path below the root with its type, mode and content hash. */
    private static TreeMap<String, String> tree(Path root) throws Exception {
        TreeMap<String, String> tree = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.toList()) {
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                String content = Files.isRegularFile(p)
                        ? HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))) : "dir";
                tree.put(root.relativize(p).toString(), mode + " " + content);
            }
        }
        return tree;
    }

    @Test
    void runningTwiceGivesTheSameTreeAndKeepsEditedConfig() throws Exception {
        Path jar = Files.writeString(work.resolve("backstop.jar"), "not really a jar");
        Path root = Files.createDirectories(work.resolve("root"));
        String first = install(root, jar);
        assertThat(first).contains("installing " + root + "/etc/backstop/config.yml");
        TreeMap<String, String> once = tree(root);
        assertThat(once).containsKeys("opt/backstop/backstop.jar", "etc/backstop/config.yml", "etc/backstop/env",
                "etc/systemd/system/backstop.service", "var/lib/backstop");
        assertThat(once.get("etc/backstop/env")).startsWith("rw-r-----");
        assertThat(once.get("var/lib/backstop")).startsWith("rwxr-x---");
        assertThat(Files.readString(root.resolve("etc/systemd/system/backstop.service")))
                .isEqualTo(Files.readString(REPO.resolve("deployment/backstop.service")));

        String second = install(root, jar);
        assertThat(second).doesNotContain("installing " + root + "/etc/backstop/config.yml");
        assertThat(tree(root)).isEqualTo(once);

        Files.writeString(root.resolve("etc/backstop/config.yml"), "# edited by the operator\n");
        install(root, jar);
        assertThat(Files.readString(root.resolve("etc/backstop/config.yml"))).isEqualTo("# edited by the operator\n");
        assertThat(List.of(root.resolve("opt/backstop").toFile().list())).as("no temp file left")
                .containsExactlyInAnyOrder("backstop.jar", "README.md");
    }
}
