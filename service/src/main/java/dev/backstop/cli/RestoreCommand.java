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
 */
public final class RestoreCommand extends BackstopCommand {
    public RestoreCommand() {
        super("restore", "Restore a snapshot without the server (works from the manifests when the catalog is lost)");
    }

    @Override
    public void configure(Subparser subparser) {
        super.configure(subparser);
        subparser.addArgument("--snapshot").required(true).help("snapshot id");
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
        try (ServiceGraph graph = ServiceGraph.create(config, CliEnvironment.of(bootstrap, config), Clock.systemUTC())) {
            String snapshotId = namespace.getString("snapshot");
            if (graph.catalog().snapshots().find(snapshotId).isEmpty()) {
                CatalogRebuilder.Result rebuilt = graph.rebuilder().rebuild();
                System.err.printf("snapshot %s was not in the catalog: read %d manifests from storage, added %d rows%n",
                        snapshotId, rebuilt.manifests(), rebuilt.added());
            }
            String user = System.getProperty("user.name", "unknown");
            RestoreRow row = graph.restores().restoreNow(new RestoreRequest(snapshotId, target, namespace.getString("mode"),
                    namespace.getBoolean("dry_run"), namespace.getBoolean("force"), false), "cli:" + user);
            if (namespace.getBoolean("json")) {
                System.out.println(bootstrap.getObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(RestoreView.of(row)));
            } else if (row.phase() == RestorePhase.COMPLETED) {
                System.out.println(String.format("restore %s of snapshot %s COMPLETED: %s", row.id(), row.snapshotId(), row.detail()));
            }
            if (row.phase() != RestorePhase.COMPLETED) {
                throw new IllegalStateException("restore " + row.id() + " failed: " + row.error());
            }
        }
    }
}
