package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import dev.backstop.ServiceGraph;
import dev.backstop.api.RestoreView;
import dev.backstop.core.CatalogRebuilder;
import dev.backstop.db.RestoreRow;
import dev.backstop.model.RestorePhase;
import dev.backstop.model.RestoreRequest;
import io.dropwizard.core.setup.Bootstrap;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.sourceforge.argparse4j.impl.Arguments;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;

/**
 * {@code java -jar backstop.jar restore config.yml --snapshot ID --target path=/srv/x [--mode new]}:
 * the same verified restore as the API, with the service stopped. When the catalog does not know the
 * snapshot (it was lost), the manifests in storage are read into it first.
 * {@code --source NAME --point-in-time T|latest} instead of {@code --snapshot} restores a source with
 * an archived log (postgres-cluster) to a point in time, from the base backups and WAL in storage.
 */
public final class RestoreCommand extends BackstopCommand {
    public RestoreCommand() {
        super("restore", "Restore a snapshot without the server (works from the manifests when the catalog is lost)");
    }

    @Override
    public void configure(Subparser subparser) {
        super.configure(subparser);
        subparser.addArgument("--snapshot").help("snapshot id (or --source with --point-in-time)");
        subparser.addArgument("--source").help("a source with an archived log (postgres-cluster), with --point-in-time");
        subparser.addArgument("--point-in-time").dest("point_in_time")
                .help("with --source: an ISO-8601 instant with its offset (2026-12-05T09:30:00Z), or latest");
        subparser.addArgument("--target").required(true).nargs("+")
                .help("key=value pairs: path=... (directory, sqlite), database=... (postgres), url=... (h2)");
        subparser.addArgument("--mode").choices("new", "replace").setDefault("new").help("new (default) or replace");
        subparser.addArgument("--dry-run").action(Arguments.storeTrue()).help("download and verify only");
        subparser.addArgument("--force").action(Arguments.storeTrue()).help("postgres replace: terminate client connections");
    }

    @Override
    protected void execute(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        Map<String, String> target = new LinkedHashMap<>();
        List<String> pairs = namespace.getList("target");
        for (String pair : pairs) {
            int equals = pair.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException("--target takes key=value pairs, got '" + pair + "'");
            }
            target.put(pair.substring(0, equals), pair.substring(equals + 1));
        }
        String snapshotId = namespace.getString("snapshot");
        String source = namespace.getString("source");
        String point = namespace.getString("point_in_time");
        if ((snapshotId == null) == (source == null)) {
            throw new IllegalArgumentException("give either --snapshot ID or --source NAME --point-in-time T|latest");
        }
        if (source != null && point == null) {
            throw new IllegalArgumentException("--source needs --point-in-time (an instant such as 2026-12-05T09:30:00Z, or latest)");
        }
        if (snapshotId != null && point != null) {
            throw new IllegalArgumentException("--point-in-time goes with --source, not --snapshot");
        }
        try (ServiceGraph graph = ServiceGraph.create(config, CliEnvironment.of(bootstrap, config), Clock.systemUTC())) {
            if (snapshotId == null) {
                if (graph.catalog().snapshots().list(source, dev.backstop.model.SnapshotStatus.COMPLETED, null, 1).isEmpty()) {
                    CatalogRebuilder.Result rebuilt = graph.rebuilder().rebuild();
                    System.err.printf("source %s had no snapshot in the catalog: read %d manifests from storage, added %d rows%n",
                            source, rebuilt.manifests(), rebuilt.added());
                }
            } else if (graph.catalog().snapshots().find(snapshotId).isEmpty()) {
                CatalogRebuilder.Result rebuilt = graph.rebuilder().rebuild();
                System.err.printf("snapshot %s was not in the catalog: read %d manifests from storage, added %d rows%n",
                        snapshotId, rebuilt.manifests(), rebuilt.added());
            }
            String user = System.getProperty("user.name", "unknown");
            RestoreRequest request = snapshotId != null
                    ? new RestoreRequest(snapshotId, target, namespace.getString("mode"), namespace.getBoolean("dry_run"),
                            namespace.getBoolean("force"), false)
                    : new RestoreRequest(null, source, point, new LinkedHashMap<>(target), namespace.getString("mode"),
                            namespace.getBoolean("dry_run"), namespace.getBoolean("force"), false);
            RestoreRow row = graph.restores().restoreNow(request, "cli:" + user);
            if (namespace.getBoolean("json")) {
                System.out.println(bootstrap.getObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(RestoreView.of(row)));
            } else if (row.phase() == RestorePhase.COMPLETED) {
                System.out.println(String.format("restore %s of snapshot %s COMPLETED: %s%s", row.id(), row.snapshotId(), row.detail(),
                        row.recoveredTo() == null ? "" : " (recovered to " + row.recoveredTo() + ")"));
            }
            if (row.phase() != RestorePhase.COMPLETED) {
                throw new IllegalStateException("restore " + row.id() + " failed: " + row.error());
            }
        }
    }
}
