package dev.backstop.support;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs a shell pipeline of stock tools (zstd, tar, pg_restore, gpg), as an operator would. */
public final class Shell {
    private Shell() {}

    public static String run(Path workDir, String script) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script)
                .directory(workDir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(300, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("`" + script + "` failed:\n" + output);
        }
        return output;
    }
}
