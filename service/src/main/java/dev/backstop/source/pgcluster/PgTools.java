package dev.backstop.source.pgcluster;

import dev.backstop.source.StderrTail;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The PostgreSQL programs a cluster source runs, and as whom: the client tools (pg_basebackup,
 * pg_receivewal) as Backstop's own user, the server (pg_ctl, postgres) as {@code osUser} when
 * Backstop runs as root, because PostgreSQL refuses to run as root. The binaries come from
 * {@code binDirectory}.
 */
public final class PgTools {
    private final Path bin;
    private final String osUser;
    private String primaryGroup;

    /** @param osUser the user servers run as when this process is root; ignored otherwise */
    public PgTools(Path bin, String osUser) {
        this.bin = bin;
        this.osUser = osUser;
    }

    public Path bin() {
        return bin;
    }

    public String tool(String name) {
        return bin.resolve(name).toString();
    }

    /** Whether this process runs as root (uid 0), so servers must be started as {@code osUser}. */
    public static boolean root() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** The command run as {@code osUser} when this process is root, else as it is. */
    public List<String> asServerUser(List<String> command) {
        if (!root()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of("runuser", "-u", osUser, "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Makes {@code osUser} the owner of a tree this process wrote (a restored data directory); nothing when not root. */
    public void handOver(Path root) throws IOException {
        if (!root()) {
            return;
        }
        UserPrincipalLookupService users = root.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal user = users.lookupPrincipalByName(osUser);
        GroupPrincipal group;
        synchronized (this) {
            if (primaryGroup == null) {
                primaryGroup = primaryGroup();
            }
            group = users.lookupPrincipalByGroupName(primaryGroup);
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.toList()) {
                PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
                view.setOwner(user);
                view.setGroup(group);
            }
        }
    }

    private String primaryGroup() throws IOException {
        return run(List.of("id", "-gn", osUser), Map.of(), 30).trim();
    }

    /** Whether {@code osUser} could reach (traverse into) a directory: PostgreSQL needs every parent of its data directory. */
    public boolean serverUserCanEnter(Path dir) {
        try {
            run(asServerUser(List.of("test", "-x", dir.toString())), Map.of(), 30);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a command to its end; returns stdout, throws with stderr when it fails. */
    public static String run(List<String> command, Map<String, String> env, int timeoutSeconds) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(env);
        Process process = builder.start();
        StderrTail stderr = new StderrTail(process.getErrorStream(), command.get(0) + "-stderr");
        stderr.start();
        try {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            stderr.join(5_000);
            if (process.exitValue() != 0) {
                throw new IOException(Path.of(command.get(command.get(0).equals("runuser") ? 4 : 0)).getFileName()
                        + " exited with status " + process.exitValue() + ": " + stderr.text());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted while running " + command.get(0), e);
        }
    }

    /**
     * Runs a command to its end, handing each line of its stdout to {@code lines}, whatever its exit
     * status (pg_waldump ends with an error at the end of WAL). TZ is UTC, so pg_waldump prints
     * times in UTC whatever the service's zone.
     */
    public static void linesIgnoringExit(List<String> command, int timeoutSeconds, java.util.function.Consumer<String> lines)
            throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("TZ", "UTC");
        Process process = builder.start();
        try {
            try (java.io.BufferedReader out = new java.io.BufferedReader(
                    new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    lines.accept(line);
                }
            }
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0), e);
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /** {@code <tool> --version}, e.g. "15.19". */
    public String version(String name) {
        try {
            String out = run(List.of(tool(name), "--version"), Map.of(), 30).trim();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(PostgreSQL\\)\\s+(\\S+)").matcher(out);
            return m.find() ? m.group(1) : out;
        } catch (IOException e) {
            return "unavailable: " + e.getMessage();
        }
    }
}
