package dev.backstop.pruning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.TestApps;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Data pruning policies on a real PostgreSQL table: only rows past the age go, in batches, counted in the audit. */
class DataPruningTest {
    private static final String NEVER = "0 0 0 1 1 ? 2099";
    private final Path dir = TestApps.tempDir("backstop-pruning");
    private final YamlApps apps = new YamlApps(dir);
    private TestPostgres postgres;

    @AfterEach
    void cleanUp() throws Exception {
        apps.close();
        if (postgres != null) {
            postgres.close();
        }
    }

    private long count(String where) throws Exception {
        try (Connection c = postgres.connect(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT count(*) FROM app.events WHERE " + where)) {
            r.next();
            return r.getLong(1);
        }
    }

    private List<String> audit() throws Exception {
        List<String> rows = new ArrayList<>();
        try (Connection c = apps.catalog();
                Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT subject_id, outcome, detail FROM audit_events WHERE action = 'data.pruned' ORDER BY id")) {
            while (r.next()) {
                rows.add(r.getString(1) + " " + r.getString(2) + " " + r.getString(3));
            }
        }
        return rows;
    }

    private static JsonNode job(DropwizardTestSupport<BackstopConfiguration> app, String name) {
        return Http.get(YamlApps.api(app, "/jobs/" + name), TestTokens.READER).json();
    }

    @Test
    void deletesOnlyRowsPastTheAgeInBatchesAndAuditsTheCounts() throws Exception {
        postgres = TestPostgres.create();
        try (Connection c = postgres.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA app");
            s.execute("CREATE TABLE app.events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, payload text)");
            s.execute("INSERT INTO app.events (created_at, payload) SELECT now() - interval '40 days' - g * interval '1 minute', "
                    + "'old ' || g FROM generate_series(1, 1050) g");
            s.execute("INSERT INTO app.events (created_at, payload) SELECT now() - interval '29 days', 'young ' || g "
                    + "FROM generate_series(1, 300) g");
        }
        String pg = "{type: postgres, name: app-db, host: %s, port: %d, database: %s, user: %s}".formatted(
                TestPostgres.HOST, TestPostgres.PORT, postgres.database(), TestPostgres.USER);
        var app = apps.start("""
                pruning:
                  policies:
                    - {name: events-count, source: app-db, table: app.events, timestampColumn: created_at, olderThan: 30d, dryRun: true, schedule: "%2$s"}
                    - {name: events, source: app-db, table: app.events, timestampColumn: created_at, olderThan: 30d, batchSize: 100, pause: 10ms, schedule: "%2$s"}
                """.replace("%2$s", NEVER), "  - " + pg + "\n");

        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/prune.events-count/trigger"), TestTokens.OPERATOR, null, null)
                .status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> job(app, "prune.events-count").has("lastRun"));
        assertThat(job(app, "prune.events-count").get("lastRun").get("detail").asText()).startsWith("dry run: 1050 rows older than");
        assertThat(count("true")).as("a dry run deletes nothing").isEqualTo(1350);

        assertThat(Http.send("POST", YamlApps.api(app, "/jobs/prune.events/trigger"), TestTokens.OPERATOR, null, null).status())
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> job(app, "prune.events").has("lastRun"));
        JsonNode last = job(app, "prune.events").get("lastRun");
        assertThat(last.get("outcome").asText()).as(last.toString()).isEqualTo("SUCCEEDED");
        assertThat(last.get("detail").asText()).contains("1050 rows older than").contains("deleted 1050 in 11 batches");
        assertThat(count("created_at < now() - interval '30 days'")).isZero();
        assertThat(count("payload LIKE 'young %'")).as("rows younger than the age stay").isEqualTo(300);

        assertThat(audit()).hasSize(2);
        assertThat(audit().get(0)).startsWith("app-db:app.events SUCCEEDED policy events-count (schedule): dry run: 1050 rows");
        assertThat(audit().get(1)).startsWith("app-db:app.events SUCCEEDED policy events (schedule): 1050 rows")
                .endsWith("deleted 1050 in 11 batches");
    }
}
