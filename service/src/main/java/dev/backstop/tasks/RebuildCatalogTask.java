package dev.backstop.tasks;

import dev.backstop.core.CatalogRebuilder;
import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** {@code POST /tasks/rebuild-catalog} on the admin port: the rebuild-catalog command, on a running service. */
public final class RebuildCatalogTask extends Task {
    private final CatalogRebuilder rebuilder;

    public RebuildCatalogTask(CatalogRebuilder rebuilder) {
        super("rebuild-catalog");
        this.rebuilder = rebuilder;
    }

    @Override
    public void execute(Map<String, List<String>> parameters, PrintWriter output) throws Exception {
        CatalogRebuilder.Result result = rebuilder.rebuild();
        output.println(result.summary());
    }
}
