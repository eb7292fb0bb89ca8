package dev.backstop.auth;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code auth:} bearer tokens for the REST API.
 *
 * @param tokens             accepted tokens (as SHA-256 hashes) with their roles
 * @param generatedTokenFile when {@code tokens} is empty, an admin token is generated on first start
 *                           and kept in this file (mode 0600); later starts reuse it
 */
public record AuthConfig(@NotNull @Valid List<ApiToken> tokens, @NotNull Path generatedTokenFile) {

    @JsonCreator
    public AuthConfig(@JsonProperty("tokens") List<ApiToken> tokens,
            @JsonProperty("generatedTokenFile") Path generatedTokenFile) {
        this.tokens = tokens == null ? List.of() : List.copyOf(tokens);
        this.generatedTokenFile = generatedTokenFile == null ? Path.of("./var/api-token") : generatedTokenFile;
    }

    public static AuthConfig defaults() {
        return new AuthConfig(null, null);
    }
}
