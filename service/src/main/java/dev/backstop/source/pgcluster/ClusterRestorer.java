package dev.backstop.source.pgcluster;

import dev.backstop.source.ArchivedLog;
import dev.backstop.source.CountingInputStream;
import dev.backstop.source.FileTrees;
import dev.backstop.source.ProbeQuery;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.TarExtractor;
import dev.backstop.source.TargetChecks;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a base backup into a fresh data directory ({@code mode: new} only: a physical copy
 * never replaces a running cluster's files). The tar streams into a hidden sibling
 * {@code .<name>.restore-<id>}; once the whole object has verified, commit renames it into place,
 * adds the restore's settings to {@code postgresql.auto.conf} (the target port, 127.0.0.1 only,
 * {@code archive_mode = off} so a copy never archives into the source's archive), starts the
 * server as the OS user, waits until it has recovered and accepts connections, and stops it again
 * unless {@code target.start} is true. A failed commit stops the server and removes the directory.
 */
final class ClusterRestorer implements SourceRestorer {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterRestorer.class);
    private static final Set<String> KEYS = Set.of("dataDirectory", "port", "start");
    /** A file in a restored data directory naming the restore that made it, so leftovers are recognised. */
    static final String MARKER = "backstop_restore_id";

    private final ClusterSourceFactory config;
    private final PgTools tools;
    private final WalArchive archive;
    private final ClusterTableRestore tables;

    /**
     * @param archive the source's WAL in storage; null where no storage is open
     * @param staging where table-level restores recover their scratch copies
     */
    ClusterRestorer(ClusterSourceFactory config, PgTools tools, WalArchive archive, Path staging) {
        this.config = config;
        this.tools = tools;
        this.archive = archive;
        this.tables = new ClusterTableRestore(config, tools, this, staging);
    }

    @Override
    public Plan planTables(Map<String, String> target, List<String> names, PointInTime pointInTime) {
        return tables.plan(target, names, pointInTime); // the point was checked by core through archivedLog()
    }

    /** The source's WAL archive, where one is open (not in commands without storage). */
    @Override
    public java.util.Optional<ArchivedLog> archivedLog() {
        return java.util.Optional.of(new ClusterLog(config, archive));
    }

    /** A point-in-time plan: the target as for a whole restore (the point was checked by core through {@link #archivedLog()}). */
    @Override
    public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced, PointInTime pointInTime) {
        Plan plan = plan(target, replace, force, dropReplaced);
        if (pointInTime == null) {
            return plan;
        }
        return new Plan(plan.key(), plan.target(), false, force, dropReplaced, plan.wouldRefuse(), pointInTime);
    }

    @Override
    public Plan plan(Map<String, String> target, boolean replace, boolean force, boolean dropReplaced) {
        if (replace) {
            throw Refused.invalid("a postgres-cluster snapshot restores only with mode new, into a fresh data directory "
                    + "(target.dataDirectory) on its own port; point clients at it once it runs");
        }
        for (String key : target.keySet()) {
            if (!KEYS.contains(key)) {
                throw Refused.invalid("unknown target key '" + key + "'; a postgres-cluster restore takes target.dataDirectory, "
                        + "target.port and target.start");
            }
        }
        Path dir = TargetChecks.absolutePath(target, "dataDirectory", "postgres-cluster");
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw Refused.conflict("target.dataDirectory " + dir + " exists; a restore writes a fresh data directory");
        }
        TargetChecks.parentExists(dir);
        if (!tools.serverUserCanEnter(dir.getParent())) {
            throw Refused.invalid("the OS user the server runs as cannot enter " + dir.getParent() + " (sources[" + config.name()
                    + "].osUser); give it search permission on every parent of target.dataDirectory");
        }
        int port = port(target);
        start(target);
        List<String> wouldRefuse = new ArrayList<>();
        if (!portFree(port)) {
            wouldRefuse.add("target.port " + port + " is in use on 127.0.0.1");
        }
        return new Plan("postgres-cluster:" + dir, target, false, force, dropReplaced, wouldRefuse);
    }

    /** A point-in-time dry run also says which WAL the real run would replay (read from the base backup's label). */
    @Override
    public String dryRun(Plan plan, InputStream raw) throws IOException {
        if (plan.tableLevel()) {
            return tables.dryRun(plan, raw);
        }
        if (plan.pointInTime() == null) {
            return SourceRestorer.super.dryRun(plan, raw);
        }
        String label = null;
        org.apache.commons.compress.archivers.tar.TarArchiveInputStream tar =
                new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(raw, "UTF-8");
        for (var entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
            if (label == null && java.nio.file.Path.of(entry.getName()).normalize().toString().equals("backup_label")) {
                label = new String(tar.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        raw.transferTo(java.io.OutputStream.nullOutputStream());
        if (label == null) {
            return "; the base backup holds no backup_label, so no WAL can be replayed onto it";
        }
        try {
            WalReplay replay = WalReplay.plan(archive, tools, Path.of(plan.target().get("dataDirectory")), label);
            if (plan.pointInTime().point() == null) {
                replay.requireNoGap();
            }
            return "; would replay WAL " + replay.range() + " (" + replay.segments() + " files) "
                    + (plan.pointInTime().point() == null ? "to its end (latest)" : "up to " + plan.pointInTime().point());
        } catch (IOException e) {
            return "; the real run would fail: " + e.getMessage();
        }
    }

    static int port(Map<String, String> target) {
        String value = target.get("port");
        if (value == null || value.isBlank()) {
            throw Refused.invalid("target.port is required: the port the restored server listens on (127.0.0.1)");
        }
        try {
            int port = Integer.parseInt(value.trim());
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw Refused.invalid("target.port must be a port number (1-65535), not '" + value + "'");
        }
    }

    static boolean start(Map<String, String> target) {
        String value = target.get("start");
        if (value == null || value.equalsIgnoreCase("false")) {
            return false;
        }
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        throw Refused.invalid("target.start must be true (leave the restored server running) or false (stop it once recovered), "
                + "not '" + value + "'");
    }

    static boolean portFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public Fresh open(Plan plan, String restoreId, LongConsumer progress) throws IOException {
        return plan.tableLevel() ? tables.open(plan, restoreId, progress) : open(plan, restoreId, progress, null);
    }

    /** As {@link #open(Plan, String, LongConsumer)}; a scratch copy for tables also listens on a Unix socket in {@code socketDirectory}. */
    Fresh open(Plan plan, String restoreId, LongConsumer progress, Path socketDirectory) throws IOException {
        Path dir = Path.of(plan.target().get("dataDirectory")).normalize();
        int port = port(plan.target());
        if (!portFree(port)) {
            throw Refused.conflict("target.port " + port + " is in use on 127.0.0.1");
        }
        boolean leaveRunning = start(plan.target());
        Path fresh = fresh(dir, restoreId);
        return new Fresh() {
            private boolean moved;
            private Instant reachedPoint;
            private Recovery recovery;

            @Override
            public void onRecovery(Recovery listener) {
                recovery = listener;
            }

            @Override
            public Instant recoveredTo() {
                return reachedPoint;
            }

            @Override
            public void write(InputStream raw) throws IOException {
                Files.createDirectory(fresh, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                Files.writeString(fresh.resolve(MARKER), restoreId + "\n");
                TarExtractor.extract(new CountingInputStream(raw, progress), fresh);
            }

            @Override
            public String commit() throws IOException {
                Files.move(fresh, dir, StandardCopyOption.ATOMIC_MOVE);
                moved = true;
                ClusterRecovery steps = new ClusterRecovery(config, tools, archive, dir, port, plan.pointInTime(), recovery,
                        () -> progress.accept(0));
                steps.configure(socketDirectory);
                String replayed = steps.planReplay();
                PgServer server = steps.startAndAwaitPromoted();
                String reached = steps.checkPointReached(server);
                reachedPoint = steps.recoveredTo();
                String restored = "restored the base backup" + replayed + " into " + dir + reached;
                if (leaveRunning) {
                    return restored + "; the server runs on 127.0.0.1:" + port;
                }
                server.stop("fast");
                return restored + "; recovered, then stopped (start it with pg_ctl -D " + dir + " start)";
            }

            @Override
            public void discard() {
                remove(moved ? dir : fresh, port);
            }
        };
    }

    void remove(Path dir, int port) {
        try {
            new PgServer(tools, dir, port).stop("immediate");
        } catch (IOException e) {
            LOG.warn("Cannot stop the server on {}: {}", dir, e.getMessage());
        }
        try {
            FileTrees.delete(dir);
        } catch (IOException e) {
            LOG.warn("Cannot remove {}: {}", dir, e.getMessage());
        }
    }

    private static Path fresh(Path dir, String restoreId) {
        return dir.resolveSibling("." + dir.getFileName() + ".restore-" + restoreId);
    }

    @Override
    public void discardLeftovers(Map<String, String> target, String restoreId) throws IOException {
        if (target.containsKey("schema")) {
            tables.discardLeftovers(restoreId);
            return;
        }
        String value = target.get("dataDirectory");
        if (value == null) {
            return;
        }
        Path dir = Path.of(value).normalize();
        FileTrees.delete(fresh(dir, restoreId));
        Path marker = dir.resolve(MARKER);
        if (Files.isRegularFile(marker) && Files.readString(marker).trim().equals(restoreId)) {
            int port;
            try {
                port = port(target);
            } catch (Refused e) {
                port = 0;
            }
            remove(dir, port); // the process died while this restore's server recovered: it is this restore's own
        }
    }

    @Override
    public Drill drill(String scratchName, Path staging) {
        Path scratch = staging.resolve(scratchName);
        int port = freePort();
        String database = config.verify() == null || config.verify().database() == null ? "postgres" : config.verify().database();
        return new Drill() {
            @Override
            public Map<String, String> scratchTarget() {
                return Map.of("dataDirectory", scratch.toString(), "port", Integer.toString(port), "start", "true");
            }

            @Override
            public String probe(String query) throws Exception {
                try (Connection c = new PgServer(tools, scratch, port).connect(database, config.user(), config.password())) {
                    return ProbeQuery.run(c, query) + " in database " + database;
                }
            }

            @Override
            public void remove() {
                ClusterRestorer.this.remove(scratch, port);
            }
        };
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("no free port for a drill", e);
        }
    }
}
