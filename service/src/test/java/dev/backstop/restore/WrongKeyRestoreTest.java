package dev.backstop.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.snapshot.SnapshotTestSupport;
import dev.backstop.support.Http;
import dev.backstop.support.TestBackstopApplication;
import dev.backstop.support.TestGpg;
import dev.backstop.support.TestTokens;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A restoring host holding the wrong private key (snapshots are encrypted to one key, the host has
 * another): the restore fails with that reason and the live target is untouched.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class WrongKeyRestoreTest {
    static final SnapshotTestSupport.Fixture FIXTURE;
    static final TestGpg OTHER;
    static final Path SOURCE_DIR;

    static {
        try {
            FIXTURE = SnapshotTestSupport.fixture();
            OTHER = TestGpg.create();
            SOURCE_DIR = Files.createDirectories(FIXTURE.dir().resolve("data"));
            Files.writeString(SOURCE_DIR.resolve("a.txt"), "data\n");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final DropwizardAppExtension<BackstopConfiguration> APP = new DropwizardAppExtension<>(TestBackstopApplication.class,
            wrongKeyConfig());

    private static String wrongKeyConfig() {
        try {
            Path otherSecret = OTHER.exportSecretKey(FIXTURE.dir().resolve("other-secret.asc"));
            String config = Files.readString(Path.of(SnapshotTestSupport.config(FIXTURE, "wrong-key.yml",
                    "sources:\n  - {type: directory, name: dir, target: fs, path: " + SOURCE_DIR + "}\n")));
            return Files.writeString(FIXTURE.dir().resolve("wrong-key.yml"),
                    config.replaceAll("privateKeyFile: [^}]+", "privateKeyFile: " + otherSecret)).toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        OTHER.close();
        FIXTURE.close();
    }

    @Test
    void theWrongPrivateKeyFailsTheRestoreAndTouchesNothing() throws Exception {
        JsonNode snapshot = SnapshotTestSupport.snapshot(APP.getLocalPort(), "dir");
        Path live = Files.createDirectories(FIXTURE.dir().resolve("live"));
        Files.writeString(live.resolve("keep.txt"), "live\n");
        TreeMap<String, String> before = SnapshotTestSupport.tree(live);

        Http.Reply accepted = Http.send("POST", "http://127.0.0.1:" + APP.getLocalPort() + "/api/v1/restores", TestTokens.ADMIN,
                "application/json", "{\"snapshotId\": \"" + snapshot.get("id").asText() + "\", \"target\": {\"path\": \"" + live
                        + "\"}, \"mode\": \"replace\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        await().atMost(Duration.ofSeconds(60)).until(() -> Http.get(location, TestTokens.READER).json().get("phase").asText().equals("FAILED"));
        assertThat(Http.get(location, TestTokens.READER).json().get("error").asText())
                .contains("not encrypted to the configured private key");
        assertThat(SnapshotTestSupport.tree(live)).isEqualTo(before);
    }
}
