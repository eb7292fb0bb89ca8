package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.BackstopApplication;
import dev.backstop.BackstopConfiguration;
import dev.backstop.health.HealthStatus;
import dev.backstop.support.TestCluster;
import dev.backstop.support.TestGpg;
import io.dropwizard.configuration.ConfigurationFactory;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.core.setup.Bootstrap;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check} says what will fail before it fails: the encryption keys by a real round trip, and
 * every tool a postgres-cluster source runs (present, of a fitting version, connecting with the
 * source's password). In-process over {@link CheckCommand#check}, on configs written here.
 */
class CheckCommandTest {
    private static final String PASSPHRASE = "restore only";
    private static final String PASSWORD = "repl pw";
    private static TestGpg gpg;
    private static TestCluster cluster;

    @TempDir
    Path dir;

    private final Bootstrap<BackstopConfiguration> bootstrap = bootstrap();

    @BeforeAll
    static void keysAndServer() throws Exception {
        gpg = TestGpg.create(PASSPHRASE);
        cluster = TestCluster.startWithPassword(PASSWORD);
    }

    @AfterAll
    static void close() throws Exception {
        if (gpg != null) {
            gpg.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Bootstrap<BackstopConfiguration> bootstrap() {
        BackstopApplication application = new BackstopApplication();
        Bootstrap<BackstopConfiguration> bootstrap = new Bootstrap<>(application);
        application.initialize(bootstrap);
        return bootstrap;
    }

    private List<CheckCommand.Line> check(String tail) throws Exception {
        String yaml = """
                catalog: {driverClass: org.h2.Driver, url: "jdbc:h2:%1$s/catalog", user: backstop, password: ""}
                storage:
                  targets:
                    - {type: filesystem, name: local, path: %1$s/backups}
                disk: {paths: [%1$s]}
                snapshots: {stagingPath: %1$s/staging}
                logging: {level: WARN}
                """.formatted(dir) + tail;
        Path file = dir.resolve("config.yml");
        Files.writeString(file, yaml);
        ConfigurationFactory<BackstopConfiguration> factory = bootstrap.getConfigurationFactoryFactory()
                .create(BackstopConfiguration.class, bootstrap.getValidatorFactory().getValidator(), bootstrap.getObjectMapper(), "dw");
        BackstopConfiguration config = factory.build(new FileConfigurationSourceProvider(), file.toString());
        return new CheckCommand(new PrintStream(new ByteArrayOutputStream())).check(bootstrap, config);
    }

    private static CheckCommand.Line line(List<CheckCommand.Line> lines, String item) {
        return lines.stream().filter(l -> l.item().equals(item)).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + item + "' in " + lines));
    }

    @Test
    void theKeysAreProvedByARoundTripAndTheWrongOneIsNamed() throws Exception {
        Path recipient = gpg.exportPublicKey(dir.resolve("recipient.asc"));
        Path secret = gpg.exportSecretKey(dir.resolve("secret.asc"));

        var good = line(check("encryption: {recipientKeyFile: %s, privateKeyFile: %s, privateKeyPassphrase: \"%s\"}\n"
                .formatted(recipient, secret, PASSPHRASE)), "encryption private key");
        assertThat(good.status()).isEqualTo(HealthStatus.PASS);
        assertThat(good.detail()).contains("decrypts what is encrypted to " + gpg.fingerprint());

        var wrongPassphrase = line(check("encryption: {recipientKeyFile: %s, privateKeyFile: %s, privateKeyPassphrase: nope}\n"
                .formatted(recipient, secret)), "encryption private key");
        assertThat(wrongPassphrase.status()).isEqualTo(HealthStatus.FAIL);
        assertThat(wrongPassphrase.detail()).contains("encryption.privateKeyPassphrase does not unlock");

        var noPassphrase = line(check("encryption: {recipientKeyFile: %s, privateKeyFile: %s}\n".formatted(recipient, secret)),
                "encryption private key");
        assertThat(noPassphrase.detail()).contains("encryption.privateKeyPassphrase is empty");

        var publicAsPrivate = line(check("encryption: {recipientKeyFile: %s, privateKeyFile: %s}\n".formatted(recipient, recipient)),
                "encryption private key");
        assertThat(publicAsPrivate.status()).isEqualTo(HealthStatus.FAIL);
        assertThat(publicAsPrivate.detail()).contains("holds a public key, not a secret key");

        try (TestGpg other = TestGpg.create()) {
            var otherKey = line(check("encryption: {recipientKeyFile: %s, privateKeyFile: %s}\n".formatted(recipient,
                    other.exportSecretKey(dir.resolve("other.asc")))), "encryption private key");
            assertThat(otherKey.status()).isEqualTo(HealthStatus.WARN);
            assertThat(otherKey.detail()).contains("is not the secret key of " + gpg.fingerprint());
        }

        var missing = line(check("encryption: {recipientKeyFile: %s}\n".formatted(dir.resolve("nope.asc"))), "encryption");
        assertThat(missing.status()).isEqualTo(HealthStatus.FAIL);
        assertThat(missing.detail()).isEqualTo("encryption.recipientKeyFile " + dir.resolve("nope.asc") + " does not exist");
    }

    /** check changes nothing: a filesystem target's directory that does not exist yet is reported, not created. */
    @Test
    void aTargetDirectoryThatDoesNotExistYetIsReportedNotCreated() throws Exception {
        Path later = dir.resolve("not-yet/backups");
        List<CheckCommand.Line> lines = check("""
                storage:
                  targets:
                    - {type: filesystem, name: later, path: %s}
                sources:
                  - {type: directory, name: uploads, path: %s, createIfMissing: true}
                """.formatted(later, dir.resolve("not-yet-uploads")));
        CheckCommand.Line line = line(lines, "storage later");
        assertThat(line.status()).isEqualTo(HealthStatus.WARN);
        assertThat(line.detail()).isEqualTo(later + " does not exist yet; the service creates it at its first write");
        assertThat(dir.resolve("not-yet")).doesNotExist();
        assertThat(line(lines, "source uploads").status()).as("created when the service starts").isEqualTo(HealthStatus.PASS);
        assertThat(dir.resolve("not-yet-uploads")).as("check creates no source directory either").doesNotExist();
    }

    @Test
    void everyToolOfAClusterSourceIsThereFitsAndConnectsWithThePassword() throws Exception {
        String source = "sources:\n  - {type: postgres-cluster, name: main, port: " + cluster.port()
                + ", user: postgres, binDirectory: %s, password: \"%s\"}\n";
        List<CheckCommand.Line> good = check(source.formatted(TestCluster.BIN, PASSWORD));
        for (String tool : List.of("pg_basebackup", "pg_receivewal", "pg_ctl", "postgres", "pg_waldump")) {
            assertThat(line(good, "source main " + tool).status()).as(good.toString()).isEqualTo(HealthStatus.PASS);
        }
        assertThat(good).anySatisfy(l -> assertThat(l.detail()).startsWith("connects for replication as postgres"));

        List<CheckCommand.Line> wrongPassword = check(source.formatted(TestCluster.BIN, "not it"));
        assertThat(wrongPassword).anySatisfy(l -> {
            assertThat(l.status()).isEqualTo(HealthStatus.FAIL);
            assertThat(l.item()).startsWith("source main");
            assertThat(l.detail()).contains("password authentication failed");
        });

        Path partial = Files.createDirectory(dir.resolve("bin"));
        for (String tool : List.of("pg_basebackup", "pg_receivewal")) {
            Files.createSymbolicLink(partial.resolve(tool), TestCluster.BIN.resolve(tool));
        }
        List<CheckCommand.Line> missingTools = check(source.formatted(partial, PASSWORD));
        for (String tool : List.of("pg_ctl", "postgres", "pg_waldump")) {
            var l = line(missingTools, "source main " + tool);
            assertThat(l.status()).isEqualTo(HealthStatus.FAIL);
            assertThat(l.detail()).contains(partial.resolve(tool) + " is missing (sources[main].binDirectory)");
        }
        assertThat(line(missingTools, "source main pg_receivewal").status()).as("the client tools are there")
                .isEqualTo(HealthStatus.PASS);
    }
}
