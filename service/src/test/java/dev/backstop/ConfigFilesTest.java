package dev.backstop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationFactory;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.jetty.HttpConnectorFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.text.StringSubstitutor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every shipped YAML file parses; a broken one is refused with the key's path and the reason. */
class ConfigFilesTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private final Bootstrap<BackstopConfiguration> bootstrap = bootstrap();
    /** The same factory, mapper, validator and source provider the application starts with. */
    private final ConfigurationFactory<BackstopConfiguration> factory = bootstrap.getConfigurationFactoryFactory()
            .create(BackstopConfiguration.class, bootstrap.getValidatorFactory().getValidator(), bootstrap.getObjectMapper(), "dw");

    private static Bootstrap<BackstopConfiguration> bootstrap() {
        BackstopApplication application = new BackstopApplication();
        Bootstrap<BackstopConfiguration> bootstrap = new Bootstrap<>(application);
        application.initialize(bootstrap);
        return bootstrap;
    }

    @TempDir
    Path dir;

    static Stream<Path> shippedConfigs() throws IOException {
        try (Stream<Path> deployment = Files.list(REPO.resolve("deployment"))) {
            List<Path> files = new java.util.ArrayList<>(deployment.filter(p -> p.toString().endsWith(".yml")).toList());
            files.add(REPO.resolve("config.yml"));
            return files.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("shippedConfigs")
    void shippedConfigFilesParseAndValidate(Path file) throws Exception {
        // Secrets are environment variables: stand in a well-formed value for each one the file names.
        StringSubstitutor placeholders = new StringSubstitutor(key -> key.endsWith("SHA256") ? "ab".repeat(32) : "secret");
        BackstopConfiguration config = factory.build(
                new SubstitutingSourceProvider(new FileConfigurationSourceProvider(), placeholders), file.toString());
        assertThat(config.catalog().getUrl()).isNotBlank();
    }

    /** The example config with env.example's own values, as a first `check` after install reads them. */
    @Test
    void theExampleConfigReadsTheEnvTemplatesValuesAsWritten() throws Exception {
        java.util.Map<String, String> env = new java.util.HashMap<>();
        for (String line : Files.readAllLines(REPO.resolve("deployment/env.example"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                env.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
            }
        }
        StringSubstitutor fromTemplate = new StringSubstitutor(env::get);
        BackstopConfiguration config = factory.build(new SubstitutingSourceProvider(new FileConfigurationSourceProvider(),
                fromTemplate), REPO.resolve("deployment/config.example.yml").toString());
        assertThat(config.auth().tokens()).isNotEmpty().allSatisfy(token ->
                assertThat(token.sha256()).as("a hash of digits stays a string of 64").hasSize(64));
        assertThat(config.catalog().getPassword()).isEqualTo(env.get("BACKSTOP_CATALOG_PASSWORD"));
    }

    @Test
    void theEmbeddedDefaultIsSafe() throws Exception {
        BackstopConfiguration config = factory.build(bootstrap.getConfigurationSourceProvider(), REPO.resolve("config.yml").toString());
        DefaultServerFactory server = (DefaultServerFactory) config.getServerFactory();
        assertThat(((HttpConnectorFactory) server.getApplicationConnectors().get(0)).getBindHost()).isEqualTo("127.0.0.1");
        assertThat(((HttpConnectorFactory) server.getApplicationConnectors().get(0)).getPort()).isEqualTo(8080);
        assertThat(((HttpConnectorFactory) server.getAdminConnectors().get(0)).getBindHost()).isEqualTo("127.0.0.1");
        assertThat(((HttpConnectorFactory) server.getAdminConnectors().get(0)).getPort()).isEqualTo(8081);
        assertThat(config.catalog().getUrl()).startsWith("jdbc:h2:./var/");
        assertThat(config.auth().tokens()).isEmpty();
    }

    @Test
    void anEmptyFileIsAWorkingConfigBoundToLoopback() throws Exception {
        BackstopConfiguration config = parse("{}");
        BackstopApplication.secureServerDefaults(config.getServerFactory());
        DefaultServerFactory server = (DefaultServerFactory) config.getServerFactory();
        assertThat(((HttpConnectorFactory) server.getApplicationConnectors().get(0)).getBindHost()).isEqualTo("127.0.0.1");
        assertThat(((HttpConnectorFactory) server.getAdminConnectors().get(0)).getBindHost()).isEqualTo("127.0.0.1");
        assertThat(config.catalog().getDriverClass()).isEqualTo("org.h2.Driver");
        assertThat(config.catalog().getCheckConnectionOnBorrow()).isTrue();
    }

    @Test
    void anExplicitBindHostIsKept() throws Exception {
        BackstopConfiguration config = parse("""
                server:
                  applicationConnectors:
                    - type: http
                      bindHost: 0.0.0.0
                      port: 8080
                """);
        BackstopApplication.secureServerDefaults(config.getServerFactory());
        DefaultServerFactory server = (DefaultServerFactory) config.getServerFactory();
        assertThat(((HttpConnectorFactory) server.getApplicationConnectors().get(0)).getBindHost()).isEqualTo("0.0.0.0");
    }

    static Stream<Arguments> brokenConfigs() {
        return Stream.of(
                Arguments.of("disk:\n  warnFreePercent: 5\n  criticalFreePercent: 10\n",
                        "disk.criticalFreePercent must be lower than disk.warnFreePercent"),
                Arguments.of("disk:\n  warnFreePercent: 150\n", "disk.warnFreePercent"),
                Arguments.of("auth:\n  tokens:\n    - name: x\n      sha256: not-a-hash\n      role: reader\n",
                        "auth.tokens[0].sha256 must be 64 lowercase hex characters"),
                Arguments.of("auth:\n  tokens:\n    - name: x\n      sha256: " + "a".repeat(64) + "\n      role: superuser\n",
                        "unknown role 'superuser'"),
                Arguments.of("catalog:\n  url: jdbc:mysql://localhost/x\n",
                        "catalog.url must start with jdbc:h2: or jdbc:postgresql:"),
                Arguments.of("catalog:\n  url: jdbc:postgresql://localhost/x\n",
                        "catalog.driverClass must match catalog.url"),
                Arguments.of("server:\n  applicationConnectors:\n    - type: http\n      port: 70000\n",
                        "server.applicationConnectors[0].port"),
                Arguments.of("healthMonitor:\n  period: 1s\n  timeout: 5s\n",
                        "healthMonitor.timeout must be shorter than healthMonitor.period"),
                Arguments.of("healthMonitor:\n  period: banana\n", "healthMonitor.period"),
                Arguments.of("nosuchblock:\n  x: 1\n", "Unrecognized field at: nosuchblock"),
                Arguments.of("api:\n  maxRequestBodySize: 1GiB\n", "api.maxRequestBodySize"),
                Arguments.of("sources:\n  - type: nosuchtype\n    name: a\n", "sources.[0]; Could not resolve type id 'nosuchtype'"),
                Arguments.of("catalog:\n  password: ${BACKSTOP_TEST_UNSET_VARIABLE}\n", "BACKSTOP_TEST_UNSET_VARIABLE"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: directory, name: a, path: /tmp, schedule: '0 0 2 * * *'}\n",
                        "sources[0].schedule must be a Quartz cron expression"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: directory, name: a, path: /tmp, retention: {keepLast: -1}}\n",
                        "sources[0].retention.keepLast"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: directory, name: a, path: /tmp, misfire: later}\n", "misfire must be runOnce or skip"),
                Arguments.of("scheduler:\n  clustered: true\n", "scheduler.clustered needs a PostgreSQL catalog"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: directory, name: a, path: /tmp, verify: {schedule: \"0 0 6 * * ?\", database: app}}\n",
                        "sources[].verify.database is only used by type postgres-cluster"),
                // The shared keys are declared once (SourceSettings): a typo in one is still refused, for every type.
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: directory, name: a, path: /tmp, schedul: '0 0 2 * * ?'}\n",
                        "Unrecognized field at: sources.[0].schedul"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: postgres, name: a, database: d, user: u, retension: {keepLast: 1}}\n",
                        "Unrecognized field at: sources.[0].retension"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: sqlite, name: 'Bad Name', path: /tmp/a.db}\n", "sources[0].name"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: h2, name: a, url: 'jdbc:h2:/tmp/a', user: sa, schedule: 'every day'}\n",
                        "sources[0].schedule must be a Quartz cron expression"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: directory, name: a, path: /tmp, replicas: [nowhere]}\n",
                        "sources[].replicas must name storage.targets[].name entries other than the source's own target"),
                Arguments.of("resilience:\n  retry: {initialDelay: 2m, maxDelay: 1m}\n",
                        "resilience.retry.initialDelay must be shorter than resilience.retry.maxDelay"),
                Arguments.of("resilience:\n  breaker: {failureThreshold: 0}\n", "resilience.breaker.failureThreshold"),
                Arguments.of("pruning:\n  policies:\n    - {name: p, source: nope, table: t, timestampColumn: c, olderThan: 1d}\n",
                        "pruning.policies[].source must name a configured postgres, h2 or sqlite source"),
                Arguments.of("storage:\n  targets:\n    - {type: filesystem, name: l, path: /tmp/x}\n"
                        + "sources:\n  - {type: sqlite, name: a, path: /tmp/a.db}\n"
                        + "pruning:\n  policies:\n    - {name: p, source: a, table: 't; DROP TABLE x', timestampColumn: c, olderThan: 1d}\n",
                        "pruning.policies[0].table must be a table name"));
    }

    @ParameterizedTest
    @MethodSource("brokenConfigs")
    void brokenConfigNamesTheKey(String yaml, String expected) {
        assertThatThrownBy(() -> parse(yaml))
                .hasMessageContaining(expected);
    }

    private BackstopConfiguration parse(String yaml) throws Exception {
        Path file = dir.resolve("config.yml");
        Files.writeString(file, yaml);
        return factory.build(bootstrap.getConfigurationSourceProvider(), file.toString());
    }
}
