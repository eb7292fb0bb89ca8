package dev.backstop.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deployment/uninstall.sh}: a mistyped or help argument prints usage and removes nothing;
 * with DESTDIR it works on a staged tree only. Every run here has DESTDIR set, so the real system
 * is never touched.
 */
class UninstallScriptTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path root;

    record Result(int exit, String output) {}

    private Result run(String script, String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("bash",
                REPO.resolve("deployment/" + script).toString()));
        command.addAll(java.util.List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("DESTDIR", root.toString());
        Process p = builder.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), output);
    }

    @BeforeEach
    void stageAnInstall() throws Exception {
        Path jar = Files.writeString(root.resolveSibling(root.getFileName() + ".jar"), "not really a jar");
        assertThat(run("install.sh", jar.toString()).exit()).isZero();
        assertThat(root.resolve("opt/backstop/backstop.jar")).exists();
    }

    @Test
    void helpAndUnknownArgumentsPrintUsageExitTwoAndRemoveNothing() throws Exception {
        for (String arg : new String[] {"--help", "-h", "--purg", "now"}) {
            Result result = run("uninstall.sh", arg);
            assertThat(result.exit()).as(arg + ": " + result.output()).isEqualTo(2);
            assertThat(result.output()).contains("usage: deployment/uninstall.sh [--purge]");
            assertThat(root.resolve("opt/backstop/backstop.jar")).as(arg).exists();
            assertThat(root.resolve("etc/systemd/system/backstop.service")).as(arg).exists();
        }
    }

    @Test
    void uninstallKeepsConfigAndDataAndPurgeRemovesThem() throws Exception {
        Result kept = run("uninstall.sh");
        assertThat(kept.exit()).as(kept.output()).isZero();
        assertThat(root.resolve("opt/backstop")).doesNotExist();
        assertThat(root.resolve("etc/systemd/system/backstop.service")).doesNotExist();
        assertThat(root.resolve("etc/backstop/config.yml")).exists();
        assertThat(root.resolve("var/lib/backstop")).exists();

        Result purged = run("uninstall.sh", "--purge");
        assertThat(purged.exit()).as(purged.output()).isZero();
        assertThat(root.resolve("etc/backstop")).doesNotExist();
        assertThat(root.resolve("var/lib/backstop")).doesNotExist();
    }
}
