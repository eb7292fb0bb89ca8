package dev.backstop.resources;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Path;
import java.lang.reflect.Method;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bearer tokens and the reader < operator < admin hierarchy on the real filter chain. */
@ExtendWith(DropwizardExtensionsSupport.class)
class ApiAuthTest {
    static final DropwizardAppExtension<BackstopConfiguration> APP = TestApps.withH2();

    private String url(String path) {
        return "http://127.0.0.1:" + APP.getLocalPort() + path;
    }

    @Test
    void infoNeedsAToken() {
        assertThat(Http.get(url("/api/v1/info"), null).status()).isEqualTo(401);
    }

    @Test
    void everyCallCarriesARequestIdTheCallersWhenItIsPlain() {
        Http.Reply own = Http.send(Http.request(url("/api/v1/info"), TestTokens.READER).header("X-Request-Id", "trace-42.a_b").GET()
                .build());
        assertThat(own.header("X-Request-Id")).isEqualTo("trace-42.a_b");
        Http.Reply odd = Http.send(Http.request(url("/api/v1/info"), TestTokens.READER).header("X-Request-Id", "a b;c").GET()
                .build());
        assertThat(odd.header("X-Request-Id")).matches("[0-9a-f-]{36}");
        Http.Reply refused = Http.get(url("/api/v1/info"), null);
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.header("X-Request-Id")).as("errors carry one too").matches("[0-9a-f-]{36}");
    }

    @Test
    void readerSeesInfo() {
        Http.Reply reply = Http.get(url("/api/v1/info"), TestTokens.READER);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.contentType()).startsWith("application/json");
        assertThat(reply.json().get("catalogType").asText()).isEqualTo("h2");
        assertThat(reply.json().get("version").asText()).isNotBlank();
        assertThat(reply.json().get("uptimeSeconds").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(Instant.parse(reply.json().get("startedAt").asText())).isBefore(Instant.now().plusSeconds(1));
    }

    @Test
    void readerSeesSources() {
        Http.Reply reply = Http.get(url("/api/v1/sources"), TestTokens.READER);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().get("sources").isArray()).isTrue();
    }

    @Test
    void principalCarriesTheConfiguredNameAndRole() {
        Http.Reply reply = Http.get(url("/api/v1/test-probe"), TestTokens.OPERATOR);
        assertThat(reply.json().get("name").asText()).isEqualTo("test-operator");
        assertThat(reply.json().get("role").asText()).isEqualTo("operator");
    }

    @Test
    void rolesIncludeTheLowerOnes() {
        String body = "{\"name\": \"a\", \"count\": 1}";
        assertThat(Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.READER, "application/json", body).status()).isEqualTo(403);
        assertThat(Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR, "application/json", body).status()).isEqualTo(200);
        assertThat(Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.ADMIN, "application/json", body).status()).isEqualTo(200);
        assertThat(Http.send("POST", url("/api/v1/test-probe/admin"), TestTokens.OPERATOR, null, null).status()).isEqualTo(403);
        assertThat(Http.send("POST", url("/api/v1/test-probe/admin"), TestTokens.ADMIN, null, null).status()).isEqualTo(200);
    }

    @Test
    void aMalformedAuthorizationHeaderIs401() {
        var request = Http.request(url("/api/v1/info"), null).header("Authorization", "Basic Zm9vOmJhcg==").GET().build();
        assertThat(Http.send(request).status()).isEqualTo(401);
    }

    /** Guards the rule that everything under /api needs a token: a resource without a role would be open. */
    @Test
    void everyApiResourceMethodDeclaresARole() {
        List<String> open = new ArrayList<>();
        List<String> scanned = new ArrayList<>();
        var config = APP.getEnvironment().jersey().getResourceConfig();
        java.util.Set<Class<?>> types = new java.util.HashSet<>(config.getClasses());
        config.getInstances().forEach(instance -> types.add(instance.getClass()));
        for (Class<?> type : types) {
            Path path = type.getAnnotation(Path.class);
            if (path == null || !path.value().startsWith("/api")) {
                continue;
            }
            scanned.add(type.getSimpleName());
            for (Method method : type.getDeclaredMethods()) {
                boolean endpoint = method.getAnnotation(Path.class) != null
                        || method.getAnnotation(jakarta.ws.rs.GET.class) != null
                        || method.getAnnotation(jakarta.ws.rs.POST.class) != null
                        || method.getAnnotation(jakarta.ws.rs.PUT.class) != null
                        || method.getAnnotation(jakarta.ws.rs.DELETE.class) != null;
                if (endpoint && method.getAnnotation(RolesAllowed.class) == null && type.getAnnotation(RolesAllowed.class) == null) {
                    open.add(type.getSimpleName() + "." + method.getName());
                }
            }
        }
        assertThat(scanned).contains("InfoResource", "SourcesResource");
        assertThat(open).isEmpty();
    }
}
