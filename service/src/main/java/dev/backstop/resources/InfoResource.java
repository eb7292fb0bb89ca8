package dev.backstop.resources;

import dev.backstop.api.ServiceInfo;
import dev.backstop.auth.Role;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/** {@code GET /api/v1/info}: what is running, since when, on which catalog. */
@Path("/api/v1/info")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public final class InfoResource {
    private final String version;
    private final Instant startedAt;
    private final String catalogType;
    private final Clock clock;

    public InfoResource(String version, Instant startedAt, String catalogType, Clock clock) {
        this.version = version;
        this.startedAt = startedAt;
        this.catalogType = catalogType;
        this.clock = clock;
    }

    @GET
    public ServiceInfo info() {
        long uptime = Duration.between(startedAt, clock.instant()).toSeconds();
        return new ServiceInfo("backstop", version, startedAt, uptime, catalogType);
    }
}
