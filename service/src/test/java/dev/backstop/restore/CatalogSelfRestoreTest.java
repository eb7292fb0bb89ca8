package dev.backstop.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.support.H2Process;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The trust issue's blocker, as the shipped config.yml invites it: a replace restore of the
 * `catalog` source's snapshot into the H2 catalog the server itself has open. It must be refused
 * without loosening the server's hold on its catalog: a second process stays locked out, and every
 * row is still there after a restart.
 */
class CatalogSelfRestoreTest {
    private final Path dir = TestApps.tempDir("backstop-self-restore");
    private final YamlApps apps = new YamlApps(dir);

    @AfterEach
    void stop() {
        apps.close();
    }

    @Test
    void replacingTheServersOwnCatalogIsRefusedAndTheCatalogStaysLockedAndWhole() throws Exception {
        String sources = """
                  - {type: h2, name: catalog, url: "jdbc:h2:%1$s/catalog", user: backstop, password: ""}
                """;
        var app = apps.start("", sources);
        String id = Http.send("POST", YamlApps.api(app, "/snapshots"), TestTokens.OPERATOR, "application/json",
                "{\"source\": \"catalog\"}").json().get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> Http.get(YamlApps.api(app, "/snapshots/" + id), TestTokens.READER).json()
                .get("status").asText().equals("COMPLETED"));
        int rowsBefore = Http.get(YamlApps.api(app, "/snapshots"), TestTokens.READER).json().get("items").size();

        Http.Reply refused = Http.send("POST", YamlApps.api(app, "/restores"), TestTokens.ADMIN, "application/json",
                "{\"snapshotId\": \"" + id + "\", \"target\": {\"url\": \"jdbc:h2:" + dir.resolve("catalog")
                        + "\"}, \"mode\": \"replace\"}");
        dev.backstop.resources.ProblemJsonTest.assertProblem(refused, 409, "conflict");
        assertThat(refused.json().get("detail").asText()).contains("is open").contains("locked by this service");

        String catalogUrl = "jdbc:h2:" + dir.resolve("catalog");
        assertThat(H2Process.open(catalogUrl, "backstop")).as("a second process is locked out of the live catalog")
                .contains("already in use");

        apps.stop(app);
        var again = apps.start("", sources);
        JsonNode after = Http.get(YamlApps.api(again, "/snapshots"), TestTokens.READER).json();
        assertThat(after.get("items").size()).as("every row survives a restart").isEqualTo(rowsBefore);
        assertThat(after.get("items").findValuesAsText("id")).contains(id);
    }
}
