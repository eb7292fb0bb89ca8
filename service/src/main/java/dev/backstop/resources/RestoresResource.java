package dev.backstop.resources;

import dev.backstop.api.Page;
import dev.backstop.api.RestoreView;
import dev.backstop.auth.ApiPrincipal;
import dev.backstop.auth.Role;
import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import dev.backstop.core.RestoreService;
import dev.backstop.db.RestoreDao;
import dev.backstop.db.RestoreRow;
import dev.backstop.model.RestoreRequest;
import io.dropwizard.auth.Auth;
import jakarta.annotation.security.RolesAllowed;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;

/** {@code /api/v1/restores}: restore a snapshot, verified before it is applied. */
@Path("/api/v1/restores")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public final class RestoresResource {
    private final RestoreService restores;
    private final RestoreDao dao;

    public RestoresResource(RestoreService restores, RestoreDao dao) {
        this.restores = restores;
        this.dao = dao;
    }

    /** 202 with Location; {@code replace} needs the admin role; 409 while the same target is being restored. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Role.OPERATOR_NAME)
    public Response restore(@Auth ApiPrincipal caller, @NotNull @Valid RestoreRequest request, @Context UriInfo uri) {
        if ("replace".equals(request.mode()) && !caller.role().includes(Role.ADMIN)) {
            throw new BackstopException(ProblemType.FORBIDDEN, "mode replace overwrites live data and needs the admin role");
        }
        RestoreRow row = restores.request(request, caller.name());
        return Response.accepted(RestoreView.of(row))
                .location(uri.getBaseUriBuilder().path("api/v1/restores").path(row.id()).build())
                .build();
    }

    @GET
    @Path("{id}")
    public RestoreView get(@PathParam("id") String id) {
        return RestoreView.of(restores.find(id));
    }

    /** 202: the restore stops at its next progress point, discards what it wrote and ends CANCELLED; 409 once final. */
    @POST
    @Path("{id}/cancel")
    @RolesAllowed(Role.OPERATOR_NAME)
    public Response cancel(@Auth ApiPrincipal caller, @PathParam("id") String id) {
        return Response.accepted(RestoreView.of(restores.cancel(id, caller.name()))).build();
    }

    /** Newest first; {@code next} is the cursor for the following page. */
    @GET
    public Page<RestoreView> list(@QueryParam("limit") Integer limit, @QueryParam("cursor") String cursor) {
        int size = Paging.limit(limit);
        List<RestoreRow> rows = dao.list(Paging.cursor(cursor), size + 1);
        return Paging.of(rows, size, RestoreRow::id, RestoreView::of);
    }
}
