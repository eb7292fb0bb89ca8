package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import dev.backstop.ServiceGraph;
import dev.backstop.api.SnapshotView;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import io.dropwizard.core.setup.Bootstrap;
import java.time.Clock;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;

/**
 * {@code java -jar backstop.jar snapshot config.yml --source NAME}: takes one snapshot now, without
 * the server, and prints what was stored (as JSON with {@code --json}). Exits non-zero when the
 * snapshot fails. With an H2 catalog the
 * server must be stopped (H2 allows one process); with PostgreSQL both may run.
 */
public final class SnapshotCommand extends BackstopCommand {

    public SnapshotCommand() {
        super("snapshot", "Take one snapshot of a source now, without the server");
    }

    @Override
    public void configure(Subparser subparser) {
        super.configure(subparser);
        subparser.addArgument("--source").required(true).help("name of a source in the configuration");
    }

    @Override
    protected void execute(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        String source = namespace.getString("source");
        if (config.sources().stream().noneMatch(s -> s.name().equals(source))) { // before any catalog is opened
            throw new IllegalArgumentException("unknown source '" + source + "'; configured sources: "
                    + String.join(", ", config.sources().stream().map(s -> s.name()).sorted().toList()));
        }
        try (ServiceGraph graph = ServiceGraph.create(config, CliEnvironment.of(bootstrap, config), Clock.systemUTC())) {
            String user = System.getProperty("user.name", "unknown");
            SnapshotRow row = graph.snapshots().takeNow(namespace.getString("source"), SnapshotOrigin.CLI, "cli:" + user);
            if (namespace.getBoolean("json")) {
                System.out.println(bootstrap.getObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(SnapshotView.of(row)));
            } else if (row.status() == SnapshotStatus.COMPLETED) {
                System.out.println(String.format("snapshot %s of %s COMPLETED: %d bytes read, %d stored in %s as %s (sha256 %s)", row.id(),
                        row.sourceName(), row.rawBytes(), row.storedBytes(), row.storageTarget(), row.storageKey(), row.sha256()));
            }
            if (row.status() != SnapshotStatus.COMPLETED) {
                throw new IllegalStateException("snapshot " + row.id() + " of " + row.sourceName() + " failed: " + row.error());
            }
        }
    }
}
