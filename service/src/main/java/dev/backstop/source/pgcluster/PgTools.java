package dev.backstop.source.pgcluster;

import dev.backstop.source.SourceProcesses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
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
    private final SourceProcesses processes;
    private String primaryGroup;

    /** Tools that connect to nothing of a source's (tests, scratch clusters). */
    public PgTools(Path bin, String osUser) {
        this(bin, osUser, SourceProcesses.NONE);
    }

    /**
     * @param osUser the user servers run as when this process is root; ignored otherwise
     * @param processes how the source's processes are started (its connection environment)
     */
    public PgTools(Path bin, String osUser, SourceProcesses processes) {
        this.bin = bin;
        this.osUser = osUser;
        this.processes = processes;
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
        return SourceProcesses.NONE.run(List.of("id", "-gn", osUser), 30).trim();
    }

    /** Whether {@code osUser} could reach (traverse into) a directory: PostgreSQL needs every parent of its data directory. */
    public boolean serverUserCanEnter(Path dir) {
        try {
            SourceProcesses.NONE.run(asServerUser(List.of("test", "-x", dir.toString())), 30);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The processes of this source: every one started with its connection environment. */
    public SourceProcesses processes() {
        return processes;
    }

    /** Runs a command (with the source's environment) to its end; returns stdout, throws with stderr when it fails. */
    public String run(List<String> command, int timeoutSeconds) throws IOException {
        return processes.run(command, timeoutSeconds);
    }

    /** {@code <tool> --version}, e.g. "15.19". */
    public String version(String name) {
        try {
            String out = SourceProcesses.NONE.run(List.of(tool(name), "--version"), 30).trim();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(PostgreSQL\\)\\s+(\\S+)").matcher(out);
            return m.find() ? m.group(1) : out;
        } catch (IOException e) {
            return "unavailable: " + e.getMessage();
        }
    }
}
