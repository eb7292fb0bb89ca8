package dev.backstop.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A throw-away GnuPG home with one key pair, driven through the real gpg binary. */
public final class TestGpg implements AutoCloseable {
    private final Path home;
    private final String passphrase;

    private TestGpg(Path home, String passphrase) {
        this.home = home;
        this.passphrase = passphrase;
    }

    /** Generates a default key pair (gpg 2.2: RSA-3072) without a passphrase. */
    public static TestGpg create() throws IOException, InterruptedException {
        return create("");
    }

    /** Generates a default key pair protected by {@code passphrase}, as an operator's restore key is. */
    public static TestGpg create(String passphrase) throws IOException, InterruptedException {
        return create(passphrase, "default");
    }

    /**
     * Generates a key pair of {@code algorithm} as {@code gpg --quick-gen-key} names it: "default"
     * (gpg 2.2: RSA-3072), "future-default" (ed25519 + cv25519, what the README recommends).
     */
    public static TestGpg create(String passphrase, String algorithm) throws IOException, InterruptedException {
        Path home = Files.createTempDirectory("backstop-gpg", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        TestGpg gpg = new TestGpg(home, passphrase);
        // gpg starts an agent daemon per home; a run cut short (a killed build) must not leave it behind.
        Runtime.getRuntime().addShutdownHook(new Thread(gpg::killAgent, "gpg-agent-kill"));
        gpg.run("--quick-gen-key", "Backstop Test <test@backstop.invalid>", algorithm, "default", "never");
        return gpg;
    }

    public Path home() {
        return home;
    }

    /** Exports the public key (armored) to a file, as an operator would hand it to Backstop. */
    public Path exportPublicKey(Path file) throws IOException, InterruptedException {
        run("--armor", "--output", file.toString(), "--export", "test@backstop.invalid");
        return file;
    }

    /** Exports the secret key (protected as it was generated), as an operator would put it on a host that restores. */
    public Path exportSecretKey(Path file) throws IOException, InterruptedException {
        run("--armor", "--output", file.toString(), "--export-secret-keys", "test@backstop.invalid");
        return file;
    }

    public void decrypt(Path encrypted, Path plain) throws IOException, InterruptedException {
        run("--output", plain.toString(), "--decrypt", encrypted.toString());
    }

    public String fingerprint() throws IOException, InterruptedException {
        String out = run("--with-colons", "--fingerprint", "test@backstop.invalid");
        for (String line : out.split("\n")) {
            if (line.startsWith("fpr:")) {
                return line.split(":")[9];
            }
        }
        throw new IllegalStateException("no fingerprint in: " + out);
    }

    public String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gpg", "--homedir", home.toString(), "--batch", "--yes",
                "--pinentry-mode", "loopback", "--passphrase", passphrase));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("gpg " + String.join(" ", args) + " failed: " + output);
        }
        return output;
    }

    private void killAgent() {
        try {
            if (Files.isDirectory(home)) {
                new ProcessBuilder("gpgconf", "--homedir", home.toString(), "--kill", "gpg-agent").start().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            // no gpgconf: nothing was started through it either
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws Exception {
        killAgent();
        try (var files = Files.walk(home)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
