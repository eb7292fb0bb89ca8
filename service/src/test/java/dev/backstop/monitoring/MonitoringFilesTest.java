package dev.backstop.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.backstop.BackstopConfiguration;
import dev.backstop.support.Http;
import dev.backstop.support.YamlApps;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped alert rules and Grafana dashboard name only metrics a live Backstop exports: renaming
 * a metric in the code without them (or the other way round) fails here. The rules' own behaviour
 * is tested by promtool (deployment/monitoring/backstop-alerts.test.yml, run by .ci/run).
 */
class MonitoringFilesTest {
    private static final Path MONITORING = Path.of("..").toAbsolutePath().normalize().resolve("deployment/monitoring");
    /** Series Prometheus makes itself, not Backstop. */
    private static final Set<String> FROM_PROMETHEUS = Set.of("up");
    private static final Pattern METRIC = Pattern.compile("\\b((?:backstop|process|jvm)_[a-z0-9_]+|up)\\b(?!\\s*\\()");

    static Path dir;
    static YamlApps apps;
    static DropwizardTestSupport<BackstopConfiguration> app;
    static Set<String> exported;
    static dev.backstop.support.TestCluster cluster;

    @BeforeAll
    static void scrape() throws Exception {
        cluster = dev.backstop.support.TestCluster.start(); // a postgres-cluster source exports the WAL archive's series
        dir = dev.backstop.support.TestCluster.openDirectory("backstop-monitoring");
        apps = new YamlApps(dir);
        Files.createDirectories(dir.resolve("data"));
        app = apps.start("""
                storage:
                  targets:
                    - {type: filesystem, name: local, path: %1$s/backups}
                    - {type: filesystem, name: offsite, path: %1$s/offsite}
                """, """
                  - {type: directory, name: files, path: %1$s/data, replicas: [offsite], schedule: "0 0 0 1 1 ? 2099",
                     verify: {schedule: "0 0 0 1 1 ? 2099"}}
                  - {type: postgres-cluster, name: main, port: PORT, user: postgres, binDirectory: BIN, partialUploadEvery: 1s}
                """.replace("PORT", Integer.toString(cluster.port())).replace("BIN", dev.backstop.support.TestCluster.BIN.toString()));
        // The health round fills the health-derived series (disk, replica lag) a moment after start.
        await().atMost(Duration.ofSeconds(30)).until(() -> scrapeNames().contains("backstop_replica_lag_seconds"));
        exported = scrapeNames();
    }

    @AfterAll
    static void stop() throws Exception {
        apps.close();
        cluster.close();
        dev.backstop.source.FileTrees.delete(dir);
    }

    private static Set<String> scrapeNames() {
        String body = Http.get(YamlApps.admin(app, "/metrics/prometheus"), null).body();
        return body.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
                .map(l -> l.split("[{ ]", 2)[0]).collect(Collectors.toCollection(TreeSet::new));
    }

    static Set<String> metricNames(String promql) {
        // Drop label matchers and strings first: their values (e.g. "storage:.*") are not metric names.
        String bare = promql.replaceAll("\\{[^}]*}", "").replaceAll("\"[^\"]*\"", "");
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(bare);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Test
    void everyMetricTheAlertRulesReadIsExported() throws Exception {
        JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(MONITORING.resolve("backstop-alerts.yml").toFile());
        Set<String> named = new TreeSet<>();
        int alerts = 0;
        for (JsonNode group : rules.get("groups")) {
            for (JsonNode rule : group.get("rules")) {
                alerts++;
                named.addAll(metricNames(rule.get("expr").asText()));
                assertThat(rule.get("labels").get("severity").asText()).as(rule.get("alert").asText()).isIn("warning", "critical");
                for (String field : new String[] {"summary", "description", "runbook_url"}) {
                    assertThat(rule.get("annotations").path(field).asText()).as(rule.get("alert") + " " + field).isNotBlank();
                }
            }
        }
        assertThat(alerts).isGreaterThanOrEqualTo(14);
        String readme = Files.readString(MONITORING.resolve("../../README.md").normalize());
        for (JsonNode group : rules.get("groups")) {
            for (JsonNode rule : group.get("rules")) {
                assertThat(rule.get("annotations").get("runbook_url").asText()).as("runbook of " + rule.get("alert").asText())
                        .isEqualTo("README.md#alert-" + rule.get("alert").asText().toLowerCase(java.util.Locale.ROOT));
                assertThat(readme).as("the README has the runbook entry").contains("#### Alert: " + rule.get("alert").asText() + "\n");
            }
        }
        named.removeAll(FROM_PROMETHEUS);
        assertThat(named).isNotEmpty();
        assertThat(exported).as("metrics the rules read").containsAll(named);
    }

    @Test
    void theDashboardIsImportableAndReadsOnlyExportedMetrics() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(MONITORING.resolve("backstop-dashboard.json").toFile());
        assertThat(dashboard.get("__inputs").get(0).get("name").asText()).isEqualTo("DS_PROMETHEUS");
        assertThat(dashboard.get("templating").get("list").findValuesAsText("name")).contains("source");
        Set<String> named = new TreeSet<>();
        for (JsonNode panel : dashboard.get("panels")) {
            if (panel.get("type").asText().equals("row")) {
                continue;
            }
            assertThat(panel.get("datasource").get("uid").asText()).as(panel.get("title").asText()).isEqualTo("${DS_PROMETHEUS}");
            assertThat(panel.get("targets")).as(panel.get("title").asText()).isNotEmpty();
            for (JsonNode target : panel.get("targets")) {
                named.addAll(metricNames(target.get("expr").asText()));
            }
        }
        for (JsonNode variable : dashboard.get("templating").get("list")) {
            named.addAll(metricNames(variable.get("definition").asText()));
        }
        named.removeAll(FROM_PROMETHEUS);
        assertThat(exported).as("metrics the dashboard reads").containsAll(named);
    }

    @Test
    void theExtractorSeesThroughFunctionsAndMatchers() {
        assertThat(metricNames("increase(backstop_snapshots_total{outcome=\"failed\"}[1h]) > 0 and on(job) up == 1"))
                .containsExactly("backstop_snapshots_total", "up");
        assertThat(metricNames("predict_linear(backstop_disk_free_bytes[6h], 86400)")).containsExactly("backstop_disk_free_bytes");
    }
}
