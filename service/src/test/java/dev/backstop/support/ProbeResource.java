package dev.backstop.support;

import dev.backstop.auth.ApiPrincipal;
import dev.backstop.auth.Role;
import io.dropwizard.auth.Auth;
import jakarta.annotation.security.RolesAllowed;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.Map;

/**
 * Test-only endpoints with each role and a validated JSON body, so the real auth filter, validation
 * and error mappers can be exercised before the feature issues add such endpoints of their own.
 */
@Path("/api/v1/test-probe")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.READER_NAME)
public class ProbeResource {

    public record Body(@NotBlank String name, @NotNull @Max(10) Integer count) {}

    @GET
    public Map<String, String> whoami(@Auth ApiPrincipal principal) {
        return Map.of("name", principal.name(), "role", principal.role().wire());
    }

    @POST
    @Path("operator")
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Role.OPERATOR_NAME)
    public Map<String, Object> operator(@Valid @NotNull Body body) {
        return Map.of("name", body.name(), "count", body.count());
    }

    @POST
    @Path("admin")
    @RolesAllowed(Role.ADMIN_NAME)
    public Map<String, String> admin() {
        return Map.of("ok", "admin");
    }

    @GET
    @Path("boom")
    public Map<String, String> boom() {
        throw new IllegalStateException("secret internal detail that must not leak");
    }
}
