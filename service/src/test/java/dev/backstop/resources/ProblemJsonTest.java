package dev.backstop.resources;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every error the API can return is RFC 9457 problem+json with a stable type and no stack trace. */
@ExtendWith(DropwizardExtensionsSupport.class)
public class ProblemJsonTest {
    static final DropwizardAppExtension<BackstopConfiguration> APP = TestApps.withH2();

    private String url(String path) {
        return "http://127.0.0.1:" + APP.getLocalPort() + path;
    }

    @Test
    void unknownRouteIs404() {
        Http.Reply reply = Http.get(url("/api/v1/no-such-thing"), TestTokens.READER);
        assertProblem(reply, 404, "not-found");
        assertThat(reply.json().get("detail").asText()).contains("/api/v1/no-such-thing");
    }

    @Test
    void wrongMethodIs405WithAllowHeader() {
        Http.Reply reply = Http.send("DELETE", url("/api/v1/info"), TestTokens.ADMIN, null, null);
        assertProblem(reply, 405, "method-not-allowed");
        assertThat(reply.json().get("detail").asText()).contains("DELETE").contains("GET");
        assertThat(reply.header("Allow")).contains("GET");
    }

    @Test
    void malformedJsonIs400WithLocation() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR,
                "application/json", "{\"name\": \"x\", \"count\": ");
        assertProblem(reply, 400, "malformed-json");
        assertThat(reply.json().get("detail").asText()).contains("line 1");
    }

    @Test
    void wrongJsonTypeIs400NamingTheField() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR,
                "application/json", "{\"name\": \"x\", \"count\": \"many\"}");
        assertProblem(reply, 400, "malformed-json");
        assertThat(reply.json().get("detail").asText()).contains("count");
    }

    /** A number where the API wants a source's name is the caller's mistake, said in JSON's words, not Jackson's. */
    @Test
    void aNumberForAStringFieldIs400NamingTheFieldWithoutJavaTypes() {
        Http.Reply snapshot = Http.send("POST", url("/api/v1/snapshots"), TestTokens.OPERATOR, "application/json", "{\"source\": 5}");
        assertProblem(snapshot, 400, "malformed-json");
        assertThat(snapshot.json().get("detail").asText()).startsWith("field 'source': must be a string, not a number (5)");
        Http.Reply restore = Http.send("POST", url("/api/v1/restores"), TestTokens.OPERATOR, "application/json",
                "{\"snapshotId\": \"x\", \"mode\": \"new\", \"target\": \"/srv/restore\"}");
        assertProblem(restore, 400, "malformed-json");
        assertThat(restore.json().get("detail").asText()).startsWith("field 'target': ").contains("an object")
                .doesNotContain("java.").doesNotContain("LinkedHashMap").doesNotContain("`");
        Http.Reply broken = Http.send("POST", url("/api/v1/snapshots"), TestTokens.OPERATOR, "application/json", "{\"source\" \"x\"}");
        assertProblem(broken, 400, "malformed-json");
        assertThat(broken.json().get("detail").asText()).startsWith("not valid JSON: ").contains("(line 1, column ")
                .doesNotContain("StreamReadFeature").doesNotContain("Source:");
    }

    @Test
    void validationFailureIs422ListingEachField() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR,
                "application/json", "{\"name\": \"\", \"count\": 11}");
        assertProblem(reply, 422, "validation-failed");
        List<String> fields = reply.json().get("errors").findValuesAsText("field");
        assertThat(fields).containsExactly("count", "name");
    }

    @Test
    void missingBodyIs422() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR,
                "application/json", null);
        assertProblem(reply, 422, "validation-failed");
    }

    @Test
    void missingTokenIs401WithChallenge() {
        Http.Reply reply = Http.get(url("/api/v1/info"), null);
        assertProblem(reply, 401, "unauthorized");
        assertThat(reply.header("WWW-Authenticate")).startsWith("Bearer");
    }

    @Test
    void invalidTokenIs401() {
        assertProblem(Http.get(url("/api/v1/info"), "not-a-configured-token"), 401, "unauthorized");
    }

    @Test
    void wrongRoleIs403() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/admin"), TestTokens.OPERATOR, null, null);
        assertProblem(reply, 403, "forbidden");
        assertThat(reply.json().get("detail").asText()).as("the role it needs").contains("needs the admin role");
        Http.Reply reader = Http.send("POST", url("/api/v1/snapshots"), TestTokens.READER, "application/json", "{\"source\": \"x\"}");
        assertProblem(reader, 403, "forbidden");
        assertThat(reader.json().get("detail").asText()).contains("needs the operator role (or admin)");
    }

    @Test
    void oversizedBodyWithLengthIs413() {
        String big = "{\"name\": \"" + "x".repeat(2000) + "\", \"count\": 1}";
        Http.Reply reply = Http.sendAlone(Http.request(url("/api/v1/test-probe/operator"), TestTokens.OPERATOR)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(big)).build());
        assertProblem(reply, 413, "payload-too-large");
        assertThat(reply.json().get("detail").asText()).contains("1024 bytes");
        assertThat(reply.header("Connection")).as("the unread body ends the connection, and the answer says so")
                .isEqualTo("close");
    }

    @Test
    void oversizedChunkedBodyIs413() {
        byte[] chunk = ("{\"name\": \"" + "x".repeat(2000) + "\", \"count\": 1}").getBytes(StandardCharsets.UTF_8);
        // An iterable publisher has no known length, so the client streams the body chunked.
        HttpRequest request = Http.request(url("/api/v1/test-probe/operator"), TestTokens.OPERATOR)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArrays(Collections.singletonList(chunk)))
                .build();
        assertProblem(Http.sendAlone(request), 413, "payload-too-large");
    }

    @Test
    void unexpectedErrorIs500WithoutInternals() {
        Http.Reply reply = Http.get(url("/api/v1/test-probe/boom"), TestTokens.READER);
        assertProblem(reply, 500, "internal-error");
        assertThat(reply.body()).doesNotContain("secret internal detail").doesNotContain("at dev.backstop");
        assertThat(reply.json().get("detail").asText()).contains("error id");
    }

    @Test
    void validRequestsStillSucceed() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR,
                "application/json", "{\"name\": \"ok\", \"count\": 3}");
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().get("count").asInt()).isEqualTo(3);
    }

    @Test
    void anUnknownFieldIs422NamingItAndTheCloseKnownOne() {
        Http.Reply reply = Http.send("POST", url("/api/v1/test-probe/operator"), TestTokens.OPERATOR,
                "application/json", "{\"name\": \"x\", \"cuont\": 1}");
        assertProblem(reply, 422, "validation-failed");
        assertThat(reply.json().get("detail").asText()).contains("unknown field 'cuont'").contains("did you mean 'count'");
        assertThat(reply.json().get("errors").findValuesAsText("field")).containsExactly("cuont");
    }

    @Test
    void anAmbiguousEncodedPathIsProblemJsonNotJettysHtml() {
        Http.Reply reply = Http.sendAlone(Http.request(url("/api/v1/snapshots/..%2F.."), TestTokens.READER).GET().build());
        assertProblem(reply, 400, "bad-request");
        assertThat(reply.body()).doesNotContain("<html");
    }

    @Test
    void adminTaskMistakesAre4xxWithAPlainMessage() {
        String admin = "http://127.0.0.1:" + APP.getAdminPort();
        Http.Reply unknownJob = Http.send("POST", admin + "/tasks/job?name=nope&action=trigger", null, null, null);
        assertThat(unknownJob.status()).as(unknownJob.body()).isEqualTo(404);
        assertThat(unknownJob.body()).contains("no job nope");
        Http.Reply badAction = Http.send("POST", admin + "/tasks/job?name=nope&action=explode", null, null, null);
        assertThat(badAction.status()).as(badAction.body()).isEqualTo(400);
        assertThat(badAction.body()).contains("trigger, pause or resume");
        Http.Reply missing = Http.send("POST", admin + "/tasks/job", null, null, null);
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.body()).contains("usage:");
    }

    public static void assertProblem(Http.Reply reply, int status, String slug) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        assertThat(reply.contentType()).startsWith("application/problem+json");
        JsonNode body = reply.json();
        assertThat(body.get("type").asText()).isEqualTo("urn:backstop:problem:" + slug);
        assertThat(body.get("title").asText()).isNotBlank();
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.get("detail").asText()).isNotBlank();
        assertThat(reply.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }
}
