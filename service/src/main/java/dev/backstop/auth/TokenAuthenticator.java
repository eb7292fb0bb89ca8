package dev.backstop.auth;

import io.dropwizard.auth.Authenticator;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/**
 * Accepts a bearer token whose SHA-256 matches a configured hash. Every configured hash is compared
 * in constant time, so the time taken says nothing about which hash came close.
 */
public final class TokenAuthenticator implements Authenticator<String, ApiPrincipal> {
    private final List<ApiToken> tokens;

    public TokenAuthenticator(List<ApiToken> tokens) {
        this.tokens = List.copyOf(tokens);
    }

    @Override
    public Optional<ApiPrincipal> authenticate(String token) {
        byte[] presented = TokenHash.sha256Hex(token).getBytes(StandardCharsets.US_ASCII);
        ApiToken match = null;
        for (ApiToken candidate : tokens) {
            if (MessageDigest.isEqual(presented, candidate.sha256().getBytes(StandardCharsets.US_ASCII))) {
                match = candidate;
            }
        }
        return match == null ? Optional.empty() : Optional.of(new ApiPrincipal(match.name(), match.role()));
    }
}
