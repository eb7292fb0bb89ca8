package dev.backstop.auth;

import java.security.Principal;

/** The caller behind a valid token: the token's configured name and its role. */
public record ApiPrincipal(String name, Role role) implements Principal {
    @Override
    public String getName() {
        return name;
    }
}
