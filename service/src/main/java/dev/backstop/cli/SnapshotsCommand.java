package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import dev.backstop.api.SnapshotView;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotStatus;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.util.List;
import java.util.Locale;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code java -jar backstop.jar snapshots list config.yml [--source S] [--status COMPLETED]}: the
 * catalog's snapshots, newest first, for when the service is down. Reads only: it neither creates
 * nor migrates a catalog, and takes no lease.
 */
public final class SnapshotsCommand extends BackstopCommand {

    public SnapshotsCommand() {
        super("snapshots", "List the catalog's snapshots (when the service is down): snapshots list config.yml");
    }

    @Override
    public void configure(Subparser subparser) {
        subparser.addArgument("action").choices("list").help("list: newest first");
        super.configure(subparser);
        subparser.addArgument("--source").help("only this source");
        subparser.addArgument("--status").help("only this status: RUNNING, COMPLETED, FAILED, CANCELLED, DELETED, PRUNED");
        subparser.addArgument("--limit").type(Integer.class).setDefault(50).help("at most this many, 1 to 500");
    }

    @Override
    protected void execute(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        SnapshotStatus status = status(namespace.getString("status"));
        String source = namespace.getString("source");
        if (source != null && config.sources().stream().noneMatch(s -> s.name().equals(source))) {
            throw new IllegalArgumentException("unknown source '" + source + "'; configured sources: "
                    + String.join(", ", config.sources().stream().map(s -> s.name()).sorted().toList()));
        }
        DataSourceFactory factory = ReadOnlyCatalog.existing(config.catalog());
        ManagedDataSource dataSource = factory.build(bootstrap.getMetricRegistry(), "catalog-read");
        try {
            Jdbi jdbi = new io.dropwizard.jdbi3.JdbiFactory().build(CliEnvironment.of(bootstrap, config), factory, dataSource,
                    "catalog-read");
            List<SnapshotRow> rows = jdbi.onDemand(SnapshotDao.class).list(source, status, null,
                    limit(namespace.getInt("limit")));
            if (namespace.getBoolean("json")) {
                System.out.println(bootstrap.getObjectMapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsString(rows.stream().map(SnapshotView::of).toList()));
                return;
            }
            System.out.println(String.format(Locale.ROOT, "%-26s  %-16s  %-9s  %-20s  %12s  %s", "ID", "SOURCE", "STATUS", "STARTED", "STORED",
                    "VERIFIED"));
            for (SnapshotRow row : rows) {
                System.out.println(String.format(Locale.ROOT, "%-26s  %-16s  %-9s  %-20s  %12s  %s", row.id(), row.sourceName(), row.status(),
                        row.startedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS), row.storedBytes() == null ? "-"
                                : row.storedBytes(), row.verifyStatus() == null ? "-" : row.verifyStatus()));
            }
        } finally {
            dataSource.stop();
        }
    }

    /** As the API: 1 to 500, refused otherwise rather than quietly changed. */
    static int limit(int limit) {
        if (limit < 1 || limit > 500) {
            throw new IllegalArgumentException("--limit must be between 1 and 500, not " + limit);
        }
        return limit;
    }

    private static SnapshotStatus status(String name) {
        if (name == null) {
            return null;
        }
        try {
            return SnapshotStatus.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--status " + name + " is not one of RUNNING, COMPLETED, FAILED, CANCELLED, DELETED, PRUNED");
        }
    }
}
