package dev.backstop.resources;

import dev.backstop.api.SourceSummary;
import dev.backstop.auth.Role;
import dev.backstop.source.SourceFactory;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
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

    public SourcesResource(List<SourceFactory> sources) {
        this.sources = sources.stream().map(s -> new SourceSummary(s.name(), s.type(), s.target())).toList();
    }

    @GET
    public Map<String, List<SourceSummary>> list() {
        return Map.of("sources", sources);
    }
}
