package dev.backstop.auth;

import io.dropwizard.auth.Authorizer;
import jakarta.ws.rs.container.ContainerRequestContext;

/** A principal holds a role when its own role includes it (admin includes operator includes reader). */
public final class RoleAuthorizer implements Authorizer<ApiPrincipal> {
    @Override
    public boolean authorize(ApiPrincipal principal, String role, ContainerRequestContext requestContext) {
        try {
            return principal.role().includes(Role.parse(role));
        } catch (IllegalArgumentException unknownRole) {
            return false;
        }
    }
}
