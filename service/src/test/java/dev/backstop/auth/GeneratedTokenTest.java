package dev.backstop.auth;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class GeneratedTokenTest {
    @TempDir
    Path dir;

    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(GeneratedToken.class);

    @BeforeEach
    void captureLogs() {
        logs.start();
        logger.addAppender(logs);
    }

    @AfterEach
    void releaseLogs() {
        logger.detachAppender(logs);
    }

    @Test
    void firstStartCreatesAnOwnerOnlyAdminTokenAndLogsWhereNotWhat() throws Exception {
        Path file = dir.resolve("nested/api-token");
        ApiToken configured = GeneratedToken.loadOrCreate(file);

        String token = Files.readString(file).strip();
        assertThat(token).hasSizeGreaterThanOrEqualTo(40);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(configured.role()).isEqualTo(Role.ADMIN);
        assertThat(configured.sha256()).isEqualTo(TokenHash.sha256Hex(token));
        assertThat(new TokenAuthenticator(java.util.List.of(configured)).authenticate(token)).isPresent();

        assertThat(logs.list).isNotEmpty();
        assertThat(logs.list).allSatisfy(e -> assertThat(e.getFormattedMessage()).doesNotContain(token));
        assertThat(logs.list.get(0).getFormattedMessage()).contains(file.toAbsolutePath().toString());
    }

    @Test
    void theGeneratedTokenFileIsRemovedOnceTokensAreConfigured() throws Exception {
        Path file = dir.resolve("api-token");
        GeneratedToken.loadOrCreate(file);
        GeneratedToken.removeStale(file);
        assertThat(file).doesNotExist();
        assertThat(logs.list).anyMatch(e -> e.getFormattedMessage().contains("auth.tokens is configured, so the generated token"));
        GeneratedToken.removeStale(file); // nothing left: nothing said
    }

    @Test
    void laterStartsReuseTheSameToken() throws Exception {
        Path file = dir.resolve("api-token");
        ApiToken first = GeneratedToken.loadOrCreate(file);
        ApiToken second = GeneratedToken.loadOrCreate(file);
        assertThat(second.sha256()).isEqualTo(first.sha256());
    }

    @Test
    void authenticatorRejectsUnknownAndAcceptsConfiguredTokens() {
        TokenAuthenticator authenticator = new TokenAuthenticator(java.util.List.of(
                new ApiToken("a", TokenHash.sha256Hex("alpha"), Role.READER),
                new ApiToken("b", TokenHash.sha256Hex("beta"), Role.OPERATOR)));
        assertThat(authenticator.authenticate("beta")).contains(new ApiPrincipal("b", Role.OPERATOR));
        assertThat(authenticator.authenticate("gamma")).isEmpty();
        assertThat(authenticator.authenticate("")).isEmpty();
    }

    @Test
    void rolesIncludeLowerRolesOnly() {
        RoleAuthorizer authorizer = new RoleAuthorizer();
        ApiPrincipal operator = new ApiPrincipal("o", Role.OPERATOR);
        assertThat(authorizer.authorize(operator, "reader", null)).isTrue();
        assertThat(authorizer.authorize(operator, "operator", null)).isTrue();
        assertThat(authorizer.authorize(operator, "admin", null)).isFalse();
        assertThat(authorizer.authorize(operator, "no-such-role", null)).isFalse();
    }
}
