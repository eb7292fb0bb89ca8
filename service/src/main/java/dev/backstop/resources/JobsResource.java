package dev.backstop.resources;

import dev.backstop.auth.ApiPrincipal;
import dev.backstop.auth.Role;
import dev.backstop.schedule.BackstopScheduler;
import dev.backstop.schedule.JobView;
import io.dropwizard.auth.Auth;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;

/** {@code /api/v1/jobs}: the scheduled jobs, and running, pausing and resuming them by hand. */
@Path("/api/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public final class JobsResource {
    private final BackstopScheduler scheduler;

    public JobsResource(BackstopScheduler scheduler) {
        this.scheduler = scheduler;
    }

    @GET
    public List<JobView> list() {
        return scheduler.jobs();
    }

    @GET
    @Path("{name}")
    public JobView get(@PathParam("name") String name) {
        return scheduler.job(name);
    }

    /** Runs the job once now (on whichever node takes it first): 202; its outcome shows as lastRun. */
    @POST
    @Path("{name}/trigger")
    @RolesAllowed(Role.OPERATOR_NAME)
    public Response trigger(@Auth ApiPrincipal caller, @PathParam("name") String name) {
        return Response.accepted(scheduler.trigger(name, caller.name())).build();
    }

    @POST
    @Path("{name}/pause")
    @RolesAllowed(Role.OPERATOR_NAME)
    public JobView pause(@Auth ApiPrincipal caller, @PathParam("name") String name) {
        return scheduler.pause(name, caller.name());
    }

    @POST
    @Path("{name}/resume")
    @RolesAllowed(Role.OPERATOR_NAME)
    public JobView resume(@Auth ApiPrincipal caller, @PathParam("name") String name) {
        return scheduler.resume(name, caller.name());
    }
}
