package dev.backstop.resources;

import dev.backstop.api.Page;
import dev.backstop.api.SnapshotRequest;
import dev.backstop.api.SnapshotView;
import dev.backstop.auth.ApiPrincipal;
import dev.backstop.auth.Role;
import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import dev.backstop.core.SnapshotService;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import io.dropwizard.auth.Auth;
import jakarta.annotation.security.RolesAllowed;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
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
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;

/** {@code /api/v1/snapshots}: take, list, inspect and delete snapshots. */
@Path("/api/v1/snapshots")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public final class SnapshotsResource {
    private final SnapshotService snapshots;
    private final SnapshotDao dao;

    public SnapshotsResource(SnapshotService snapshots, SnapshotDao dao) {
        this.snapshots = snapshots;
        this.dao = dao;
    }

    /** Starts a snapshot: 202 with Location; 409 while one of the same source runs. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Role.OPERATOR_NAME)
    public Response take(@Auth ApiPrincipal caller, @NotNull @Valid SnapshotRequest request, @Context UriInfo uri) {
        SnapshotRow row = snapshots.request(request.source(), SnapshotOrigin.API, caller.name());
        return Response.accepted(view(row))
                .location(uri.getBaseUriBuilder().path("api/v1/snapshots").path(row.id()).build())
                .build();
    }

    /** Newest first; {@code next} is the cursor for the following page. */
    @GET
    public Page<SnapshotView> list(@QueryParam("source") String source, @QueryParam("status") String status,
            @QueryParam("from") String from, @QueryParam("to") String to, @QueryParam("limit") Integer limit,
            @QueryParam("cursor") String cursor) {
        int size = Paging.limit(limit);
        List<SnapshotRow> rows = dao.list(source, parseStatus(status), parseInstant("from", from), parseInstant("to", to),
                Paging.cursor(cursor), size + 1);
        return Paging.of(rows, size, SnapshotRow::id, this::view);
    }

    @GET
    @Path("{id}")
    public SnapshotView get(@PathParam("id") String id) {
        return view(snapshots.find(id));
    }

    private SnapshotView view(SnapshotRow row) {
        return SnapshotView.of(row, snapshots.queued(row.id()));
    }

    /** Removes the objects from storage, then marks the row DELETED. */
    @DELETE
    @Path("{id}")
    @RolesAllowed(Role.OPERATOR_NAME)
    public SnapshotView delete(@Auth ApiPrincipal caller, @PathParam("id") String id) {
        return SnapshotView.of(snapshots.delete(id, caller.name()));
    }

    /** 202: the snapshot stops at its next write and ends CANCELLED, with nothing left in storage; 409 unless RUNNING here. */
    @POST
    @Path("{id}/cancel")
    @RolesAllowed(Role.OPERATOR_NAME)
    public Response cancel(@Auth ApiPrincipal caller, @PathParam("id") String id) {
        return Response.accepted(SnapshotView.of(snapshots.cancel(id, caller.name()))).build();
    }

    private static SnapshotStatus parseStatus(String status) {
        if (status == null) {
            return null;
        }
        try {
            return SnapshotStatus.valueOf(status.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw invalid("status must be one of " + java.util.Arrays.toString(SnapshotStatus.values()));
        }
    }

    private static Instant parseInstant(String name, String value) {
        if (value == null) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw invalid(name + " must be an ISO-8601 instant such as 2026-11-28T00:00:00Z");
        }
    }

    private static BackstopException invalid(String detail) {
        return new BackstopException(ProblemType.BAD_REQUEST, detail);
    }
}
