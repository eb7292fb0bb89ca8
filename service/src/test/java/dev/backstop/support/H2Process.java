package dev.backstop.support;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Opens an H2 database from a second JVM, as another process (a CLI, a second server) would. */
public final class H2Process {
    private H2Process() {}

    /** The second process's output; it contains "Database may be already in use" when locked out. */
    public static String open(String url, String user) throws Exception {
        Path jar = Path.of(org.h2.Driver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), "-cp", jar.toString(), "org.h2.tools.Shell", "-url",
                url + ";IFEXISTS=TRUE", "-user", user, "-password", "", "-sql", "SELECT 1")
                .redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes());
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                throw new AssertionError("the second H2 process did not finish: " + output);
            }
            return output;
        } finally {
            process.destroyForcibly();
        }
    }
}
