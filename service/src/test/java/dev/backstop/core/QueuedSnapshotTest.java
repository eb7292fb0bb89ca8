package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A snapshot waiting for a free slot (snapshots.maxConcurrent) says it is queued, and stops saying so once it runs. */
class QueuedSnapshotTest {
    private final Path dir = TestApps.tempDir("backstop-queued");
    private final YamlApps apps = new YamlApps(dir);

    @AfterEach
    void stop() {
        apps.close();
    }

    @Test
    void aSnapshotWaitingForASlotIsShownQueuedUntilItRuns() throws Exception {
        Files.writeString(dir.resolve("lines.txt"), "a\n");
        DropwizardTestSupport<BackstopConfiguration> app = apps.start("snapshots: {stagingPath: %1$s/staging, maxConcurrent: 1}\n", """
                  - {type: lines, name: first, path: %1$s/lines.txt, endless: true}
                  - {type: lines, name: second, path: %1$s/lines.txt, endless: true}
                """);
        String first = take(app, "first");
        await().atMost(Duration.ofSeconds(30)).until(() -> view(app, first).path("rawBytes").asLong() > 0);
        assertThat(view(app, first).has("queued")).as("it runs").isFalse();
        String second = take(app, "second");
        JsonNode waiting = view(app, second);
        assertThat(waiting.get("status").asText()).isEqualTo("RUNNING");
        assertThat(waiting.get("queued").asBoolean()).as(waiting.toString()).isTrue();

        cancel(app, first);
        await().atMost(Duration.ofSeconds(30)).until(() -> !view(app, second).has("queued"));
        cancel(app, second);
        await().atMost(Duration.ofSeconds(30)).until(() -> view(app, second).get("status").asText().equals("CANCELLED"));
    }

    private static String take(DropwizardTestSupport<BackstopConfiguration> app, String source) {
        Http.Reply reply = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"" + source + "\"}");
        assertThat(reply.status()).as(reply.body()).isEqualTo(202);
        return reply.json().get("id").asText();
    }

    private static void cancel(DropwizardTestSupport<BackstopConfiguration> app, String id) {
        assertThat(Http.send("POST", YamlApps.api(app, "/snapshots/" + id + "/cancel"), TestTokens.OPERATOR, "application/json", "")
                .status()).isEqualTo(202);
    }

    private static JsonNode view(DropwizardTestSupport<BackstopConfiguration> app, String id) {
        return Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json();
    }
}
