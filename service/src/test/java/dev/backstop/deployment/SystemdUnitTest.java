package dev.backstop.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The shipped unit passes {@code systemd-analyze verify} and scores 2.5 or better on its security audit. */
class SystemdUnitTest {
    private static final Path UNIT = Path.of("..").toAbsolutePath().normalize().resolve("deployment/backstop.service");

    private record Result(int exit, String output) {}

    private static Result run(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            throw new AssertionError("systemd-analyze not found: install the Debian package 'systemd' (.ci/run does)", e);
        }
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), output);
    }

    @Test
    void unitVerifiesClean() throws Exception {
        Result verify = run("systemd-analyze", "verify", UNIT.toString());
        assertThat(verify.exit()).as(verify.output()).isZero();
        assertThat(verify.output()).as("no warnings").isBlank();
    }

    @Test
    void securityExposureIsAtMostTwoAndAHalf() throws Exception {
        Result security = run("systemd-analyze", "security", "--offline=true", UNIT.toString());
        Matcher score = Pattern.compile("Overall exposure level for backstop.service: ([0-9.]+)").matcher(security.output());
        assertThat(score.find()).as(security.output()).isTrue();
        assertThat(Double.parseDouble(score.group(1))).as(security.output()).isLessThanOrEqualTo(2.5);
    }

    @Test
    void hardeningThatBreaksTheJvmIsAbsentAndTheEssentialsPresent() throws Exception {
        String unit = java.nio.file.Files.readString(UNIT);
        assertThat(unit).doesNotContainPattern("(?m)^MemoryDenyWriteExecute=yes");
        assertThat(unit).contains("Type=notify", "WatchdogSec=", "Restart=on-failure", "SuccessExitStatus=143",
                "EnvironmentFile=-/etc/backstop/env", "ProtectSystem=strict", "StateDirectory=backstop", "NoNewPrivileges=yes",
                "CapabilityBoundingSet=\n");
    }

    /** The unit starts with the archive install.sh builds, with the heap options the archive was built with. */
    @Test
    void theUnitStartsWithTheClassDataSharingArchiveTheInstallBuilds() throws Exception {
        String unit = java.nio.file.Files.readString(UNIT);
        java.nio.file.Path repo = UNIT.getParent().getParent();
        String install = java.nio.file.Files.readString(repo.resolve("deployment/install.sh"));
        String archive = java.nio.file.Files.readString(repo.resolve("deployment/cds-archive.sh"));
        assertThat(unit).contains("-XX:SharedArchiveFile=/opt/backstop/backstop.jsa -Xshare:auto");
        assertThat(install).contains("deployment/cds-archive.sh /opt/backstop/backstop.jar /opt/backstop/backstop.jsa");
        Matcher heap = Pattern.compile("ExecStart=/usr/bin/java (-Xms\\S+ -Xmx\\S+ -XX:\\+ExitOnOutOfMemoryError)").matcher(unit);
        assertThat(heap.find()).isTrue();
        assertThat(archive).contains("java " + heap.group(1));
    }
}
