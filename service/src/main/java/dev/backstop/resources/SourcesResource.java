package dev.backstop.resources;

import dev.backstop.api.SourceSummary;
import dev.backstop.auth.Role;
import dev.backstop.core.BackstopException;
import dev.backstop.core.PointInTimeWindows;
import dev.backstop.source.SourceFactory;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import java.util.Map;

/** {@code GET /api/v1/sources}: the snapshot sources configured under {@code sources:}. */
@Path("/api/v1/sources")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public final class SourcesResource {
    private final List<SourceSummary> sources;
    private final PointInTimeWindows windows;

    public SourcesResource(List<SourceFactory> sources, PointInTimeWindows windows) {
        this.sources = sources.stream().map(s -> new SourceSummary(s.name(), s.type(), s.target())).toList();
        this.windows = windows;
    }

    /**
     * {@code GET /api/v1/sources/{name}/pitr}: the recoverable window of a source that restores to
     * points in time, and the state of its log archive (receiver, positions, lag, slot, gaps).
     */
    @GET
    @Path("/{name}/pitr")
    public PointInTimeWindows.Window pointInTime(@PathParam("name") String name) {
        if (sources.stream().noneMatch(s -> s.name().equals(name))) {
            throw BackstopException.notFound("no source " + name);
        }
        return windows.window(name).orElseThrow(() -> BackstopException.notFound("source " + name
                + " does not restore to points in time (only postgres-cluster sources do)"));
    }

    @GET
    public Map<String, List<SourceSummary>> list() {
        return Map.of("sources", sources);
    }
}
