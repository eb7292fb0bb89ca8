package dev.backstop.resources;

import dev.backstop.api.RetentionPreview;
import dev.backstop.auth.Role;
import dev.backstop.model.RetentionPolicy;
import dev.backstop.retention.RetentionService;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

/** {@code /api/v1/retention/{source}/preview}: what the next retention run would keep and delete, and why. */
@Path("/api/v1/retention")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public final class RetentionResource {
    private final RetentionService retention;

    public RetentionResource(RetentionService retention) {
        this.retention = retention;
    }

    /** {@code ?diskPressure=true} previews the tighter policy used when a disk is critical. */
    @GET
    @Path("{source}/preview")
    public RetentionPreview preview(@PathParam("source") String source, @QueryParam("diskPressure") boolean diskPressure) {
        RetentionPolicy policy = retention.policy(source);
        if (diskPressure && policy != null && policy.onDiskPressure() != null) {
            policy = policy.onDiskPressure();
        }
        return RetentionPreview.of(source, policy, retention.zone().getId(), retention.plan(source, policy),
                retention.logPlan(source, policy), retention::freedBytes);
    }
}
