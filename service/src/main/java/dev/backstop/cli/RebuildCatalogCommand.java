package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import dev.backstop.ServiceGraph;
import dev.backstop.core.CatalogRebuilder;
import io.dropwizard.core.setup.Bootstrap;
import java.time.Clock;
import net.sourceforge.argparse4j.inf.Namespace;

/**
 * {@code java -jar backstop.jar rebuild-catalog config.yml}: after losing the catalog, recreates its
 * snapshot rows from the manifests in every storage target. Adds only what is missing.
 */
public final class RebuildCatalogCommand extends BackstopCommand {
    public RebuildCatalogCommand() {
        super("rebuild-catalog", "Recreate catalog rows from the manifests in storage (after losing the catalog)");
    }

    @Override
    protected void execute(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        try (ServiceGraph graph = ServiceGraph.create(config, CliEnvironment.of(bootstrap, config), Clock.systemUTC())) {
            CatalogRebuilder.Result result = graph.rebuilder().rebuild();
            if (namespace.getBoolean("json")) {
                System.out.println(bootstrap.getObjectMapper().writeValueAsString(result));
            } else {
                // One write: printf writes piece by piece, and a log line on stderr can land in between.
                System.out.println(result.summary());
            }
        }
    }
}
