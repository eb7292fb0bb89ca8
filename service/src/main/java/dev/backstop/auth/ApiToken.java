package dev.backstop.auth;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/**
 * One accepted token, stored as the hex SHA-256 of the token so the config file holds no secret.
 * Make one with {@code printf %s "$TOKEN" | sha256sum}.
 *
 * @param name   who holds the token; shown in audit rows and logs
 * @param sha256 lowercase hex SHA-256 of the token text
 * @param role   reader, operator or admin
 */
public record ApiToken(
        @NotBlank String name,
        @NotNull @Pattern(regexp = "[0-9a-f]{64}", message = "must be 64 lowercase hex characters (the SHA-256 of the token)") String sha256,
        @NotNull Role role) {
}
