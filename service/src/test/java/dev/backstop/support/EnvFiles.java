package dev.backstop.support;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Reads an environment file with deployment/envfile.sh, as install.sh does (systemd's EnvironmentFile= rules). */
public final class EnvFiles {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    private EnvFiles() {}

    public static Map<String, String> read(Path envFile) throws Exception {
        Process process = new ProcessBuilder("bash", "-c", ". deployment/envfile.sh && envfile_assignments \"$1\"", "envfile",
                envFile.toString()).directory(REPO.toFile()).redirectErrorStream(true).start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError("envfile.sh failed on " + envFile + ": " + new String(out, StandardCharsets.UTF_8));
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String assignment : new String(out, StandardCharsets.UTF_8).split("\0")) {
            if (!assignment.isEmpty()) {
                values.put(assignment.substring(0, assignment.indexOf('=')), assignment.substring(assignment.indexOf('=') + 1));
            }
        }
        return values;
    }
}
