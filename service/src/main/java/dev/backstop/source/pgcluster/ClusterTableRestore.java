package dev.backstop.source.pgcluster;

import dev.backstop.source.FileTrees;
import dev.backstop.source.SourceRestorer.Fresh;
import dev.backstop.source.SourceRestorer.Plan;
import dev.backstop.source.SourceRestorer.Recovery;
import dev.backstop.source.pgtables.PgEndpoint;
import dev.backstop.source.pgtables.TableCopy;
import dev.backstop.source.pgtables.TableSelection;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A table-level restore ("undo") of a postgres-cluster source: the base backup is recovered, to the
 * point when one is asked for, into a scratch copy in the staging directory (a server on a free
 * port of 127.0.0.1 and on a Unix socket in a private directory, where it trusts local connections:
 * only this process and the server's OS user can reach that socket); the chosen tables move from
 * the copy's database of the target's name into a new schema of the live database
 * ({@link TableCopy}, as the source's role); the copy is stopped and removed whatever happens.
 */
final class ClusterTableRestore {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterTableRestore.class);

    private final ClusterSourceFactory config;
    private final PgTools tools;
    private final ClusterRestorer restorer;
    private final Path staging;

    ClusterTableRestore(ClusterSourceFactory config, PgTools tools, ClusterRestorer restorer, Path staging) {
        this.config = config;
        this.tools = tools;
        this.restorer = restorer;
        this.staging = staging;
    }

    private PgEndpoint live(String database) {
        return new PgEndpoint(config.host(), config.port(), config.user(), database, tools.processes(), tools::tool);
    }

    Plan plan(Map<String, String> target, List<String> names, dev.backstop.source.SourceRestorer.PointInTime pointInTime) {
        TableSelection selection = TableSelection.parse(names, target);
        if (staging == null) {
            throw dev.backstop.source.SourceRestorer.Refused.invalid("a table-level restore needs snapshots.stagingPath for its "
                    + "scratch copy");
        }
        if (java.nio.file.Files.isDirectory(staging) && !tools.serverUserCanEnter(staging)) {
            throw dev.backstop.source.SourceRestorer.Refused.invalid("the OS user the server runs as cannot enter the staging "
                    + "directory " + staging + " (snapshots.stagingPath), where a table-level restore recovers its scratch copy");
        }
        TableCopy.checkTarget(live(target.get("database")), selection);
        return new Plan("postgres-cluster:" + config.host() + ":" + config.port() + "/" + target.get("database") + "/"
                + selection.schema(), target, false, false, false, List.of(), pointInTime, names);
    }

    private Path scratch(String restoreId) {
        return staging.resolve("restore-" + restoreId + "-tables");
    }

    Fresh open(Plan plan, String restoreId, LongConsumer progress) throws IOException {
        TableSelection selection = TableSelection.parse(plan.tables(), plan.target());
        String database = plan.target().get("database");
        Files.createDirectories(staging);
        Path dir = scratch(restoreId);
        int port = ClusterRestorer.freePort();
        Path socket = Files.createTempDirectory("backstop-tables-"); // short: a socket path has ~100 bytes
        tools.handOver(socket);
        Fresh copy = restorer.open(new Plan("scratch:" + dir, Map.of("dataDirectory", dir.toString(), "port", Integer.toString(port),
                "start", "true"), false, false, false, List.of(), plan.pointInTime()), restoreId, progress, socket);
        return new Fresh() {
            @Override
            public void write(InputStream raw) throws Exception {
                copy.write(raw);
            }

            @Override
            public String commit() throws Exception {
                try {
                    String recovered = copy.commit();
                    PgEndpoint local = new PgEndpoint(socket.toString(), port, config.user(), database,
                            dev.backstop.source.SourceProcesses.NONE, tools::tool);
                    PgEndpoint scratchCopy = new PgEndpoint(socket.toString(), port, superuser(local), database,
                            dev.backstop.source.SourceProcesses.NONE, tools::tool);
                    String how = plan.pointInTime() == null ? ", as they were in the base backup"
                            : ", as they were at " + (copy.recoveredTo() == null ? "the base backup's end" : copy.recoveredTo())
                                    + (plan.pointInTime().point() == null ? " (latest)" : " (pointInTime " + plan.pointInTime().point() + ")");
                    LOG.info("Scratch copy for tables: {}", recovered);
                    return TableCopy.copy(scratchCopy, live(database), selection, () -> progress.accept(0)).detail() + how
                            + "; the scratch copy was removed";
                } finally {
                    discard();
                }
            }

            @Override
            public Instant recoveredTo() {
                return copy.recoveredTo();
            }

            @Override
            public void onRecovery(Recovery recovery) {
                copy.onRecovery(recovery);
            }

            @Override
            public void discard() {
                copy.discard();
                try {
                    FileTrees.delete(socket);
                } catch (IOException e) {
                    LOG.warn("Cannot remove {}: {}", socket, e.getMessage());
                }
            }
        };
    }

    /** The copy's bootstrap superuser (the role of OID 10), which the private socket lets in: it can read and move any table. */
    private static String superuser(PgEndpoint local) throws IOException {
        String name = local.query("SELECT rolname FROM pg_roles WHERE oid = 10", 60).trim();
        if (name.isEmpty()) {
            throw new IOException("cannot find the superuser of the recovered copy");
        }
        return name;
    }

    /**
     * The scratch copy's access settings (appended to {@code postgresql.auto.conf}): its own HBA file
     * that trusts the private socket and, on 127.0.0.1, asks the source's role for its password as the
     * source does ({@code md5} takes SCRAM secrets too), or trusts it where the source has none.
     */
    static String scratchAccess(Path dataDirectory, Path socketDirectory, boolean password) throws IOException {
        Path hba = dataDirectory.resolve("backstop_scratch_hba.conf");
        Files.writeString(hba, "# A scratch copy for a table-level restore: removed when the restore ends\n"
                + "local all all trust\n"
                + "host all all 127.0.0.1/32 " + (password ? "md5" : "trust") + "\n", StandardCharsets.UTF_8);
        return "unix_socket_directories = '" + socketDirectory + "'\n"
                + "unix_socket_permissions = 0700\n"
                + "hba_file = '" + hba + "'\n";
    }

    /** Consumes the verified stream; what a real run would do (the names are checked against the recovered copy). */
    String dryRun(Plan plan, InputStream raw) throws IOException {
        raw.transferTo(OutputStream.nullOutputStream());
        TableSelection selection = TableSelection.parse(plan.tables(), plan.target());
        return "; would recover a scratch copy" + (plan.pointInTime() == null ? " of the base backup"
                : " to " + (plan.pointInTime().point() == null ? "the archive's end (latest)" : plan.pointInTime().point()))
                + " in " + staging + ", then create schema " + selection.schema() + " in database " + plan.target().get("database")
                + " with " + selection.text() + " (the names are checked against the recovered copy)";
    }

    void discardLeftovers(String restoreId) throws IOException {
        if (staging != null) {
            restorer.discardLeftovers(Map.of("dataDirectory", scratch(restoreId).toString()), restoreId);
        }
    }
}
