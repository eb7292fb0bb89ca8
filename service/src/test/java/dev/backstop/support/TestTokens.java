package dev.backstop.support;

/** Tokens configured in test-config.yml (their SHA-256 hashes are there, not the tokens). */
public final class TestTokens {
    public static final String READER = "reader-token-for-tests";
    public static final String OPERATOR = "operator-token-for-tests";
    public static final String ADMIN = "admin-token-for-tests";

    private TestTokens() {}

    public static String bearer(String token) {
        return "Bearer " + token;
    }
}
