package dev.backstop.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A source type added from the tests alone (see {@link LinesSourceFactory}) snapshots, restores and drills through core. */
class PluginSourceTypeTest {
    private final Path dir = TestApps.tempDir("backstop-plugin");
    private final YamlApps apps = new YamlApps(dir);

    @AfterEach
    void stop() {
        apps.close();
    }

    @Test
    void aTestOnlySourceTypeSnapshotsRestoresAndDrills() throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "alpha\nbeta\ngamma\n");
        var app = apps.start("", """
                  - {type: lines, name: notes, path: %1$s/notes.txt, schedule: "0 0 0 1 1 ? 2099",
                     verify: {schedule: "0 0 0 1 1 ? 2099", probeQuery: "beta"}}
                """);
        String id = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"notes\"}").json().get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json()
                .get("status").asText().equals("COMPLETED"));
        Files.writeString(dir.resolve("notes.txt"), "changed\n");

        Path copy = dir.resolve("copy.txt");
        Http.Reply accepted = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR, "application/json",
                "{\"snapshotId\": \"" + id + "\", \"target\": {\"path\": \"" + copy + "\"}, \"mode\": \"new\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(location, TestTokens.READER).json().get("phase").asText()
                .equals("COMPLETED"));
        assertThat(Http.get(location, TestTokens.READER).json().get("detail").asText()).isEqualTo("wrote 3 lines to " + copy);
        assertThat(Files.readString(copy)).isEqualTo("alpha\nbeta\ngamma\n");
        dev.backstop.resources.ProblemJsonTest.assertProblem(Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.OPERATOR,
                "application/json", "{\"snapshotId\": \"" + id + "\", \"target\": {\"path\": \"" + copy + "\"}, \"mode\": \"new\"}"),
                409, "conflict");

        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/verify.notes/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json()
                .has("verifyStatus"));
        JsonNode drilled = Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
        assertThat(drilled.get("verifyStatus").asText()).as(drilled.toString()).isEqualTo("PASSED");
        assertThat(drilled.get("verifyDetail").asText()).contains("1 lines contain 'beta'");
    }
}
