package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import dev.backstop.ServiceGraph;
import dev.backstop.api.SnapshotView;
import dev.backstop.core.SnapshotOrigin;
import dev.backstop.core.SnapshotStatus;
import dev.backstop.db.SnapshotRow;
import io.dropwizard.core.cli.ConfiguredCommand;
import io.dropwizard.core.setup.Bootstrap;
import java.time.Clock;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;

/**
 * {@code java -jar backstop.jar snapshot config.yml --source NAME}: takes one snapshot now, without
 * the server, and prints it as JSON. Exits non-zero when the snapshot fails. With an H2 catalog the
 * server must be stopped (H2 allows one process); with PostgreSQL both may run.
 */
public final class SnapshotCommand extends ConfiguredCommand<BackstopConfiguration> {

    public SnapshotCommand() {
        super("snapshot", "Take one snapshot of a source now, without the server");
    }

    @Override
    public void configure(Subparser subparser) {
        super.configure(subparser);
        subparser.addArgument("--source").required(true).help("name of a source in the configuration");
    }

    @Override
    protected void run(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        try (ServiceGraph graph = ServiceGraph.create(config, CliEnvironment.of(bootstrap, config), Clock.systemUTC())) {
            String user = System.getProperty("user.name", "unknown");
            SnapshotRow row = graph.snapshots().takeNow(namespace.getString("source"), SnapshotOrigin.CLI, "cli:" + user);
            System.out.println(bootstrap.getObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(SnapshotView.of(row)));
            if (row.status() != SnapshotStatus.COMPLETED) {
                throw new IllegalStateException("snapshot " + row.id() + " failed: " + row.error());
            }
        }
    }
}
