package dev.backstop.support;

import dev.backstop.BackstopConfiguration;
import io.dropwizard.testing.DropwizardTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts the test application on a config file written for the test: an H2 catalog, a filesystem
 * target and staging under one directory, the test tokens, plus the sources (and any extra blocks)
 * given in YAML, where {@code %1$s} stands for the directory. Stops everything it started.
 */
public final class YamlApps implements AutoCloseable {
    private final Path dir;
    private final List<DropwizardTestSupport<BackstopConfiguration>> apps = new ArrayList<>();

    private final java.util.Map<DropwizardTestSupport<BackstopConfiguration>, Path> configs = new java.util.HashMap<>();

    public YamlApps(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** Starts an app whose config ends with {@code tail} (top-level blocks, then {@code sources:} entries). */
    public DropwizardTestSupport<BackstopConfiguration> start(String extra, String sources) throws Exception {
        String yaml = """
                server:
                  applicationConnectors: [{type: http, port: 0}]
                  adminConnectors: [{type: http, port: 0}]
                  requestLog: {appenders: []}
                catalog:
                  driverClass: org.h2.Driver
                  url: jdbc:h2:%1$s/catalog
                  user: backstop
                  password: ""
                auth:
                  tokens:
                    - {name: test-reader, sha256: 4bdec4b655cc2339a3f8ad7bd23d16ed053ac3331fdf01a374fc20394ceec230, role: reader}
                    - {name: test-operator, sha256: 534125de141542e27a3668e21ce0ad7a4820c1a76d97a5d098b1c7df6eca3f1d, role: operator}
                    - {name: test-admin, sha256: b98c9b93bcac5ddbf030a130b46430d0cac4e591c55b0c65072eebb9c4739985, role: admin}
                healthMonitor: {period: 500ms, timeout: 400ms}
                disk: {paths: [%1$s]}
                snapshots: {stagingPath: %1$s/staging}
                logging: {level: WARN}
                """.formatted(dir)
                + (extra.contains("storage:") ? "" : "storage:\n  targets:\n    - {type: filesystem, name: local, path: " + dir + "/backups}\n") + (extra.contains("scheduler:") ? "" : "scheduler: {shutdownGracePeriod: 5s}\n") + extra.formatted(dir) + "sources:\n" + sources.formatted(dir);
        Path config = dir.resolve("config-" + apps.size() + ".yml");
        Files.writeString(config, yaml);
        DropwizardTestSupport<BackstopConfiguration> app = new DropwizardTestSupport<>(TestBackstopApplication.class,
                config.toString());
        app.before();
        apps.add(app);
        configs.put(app, config);
        return app;
    }

    /** The configuration file an app was started on (a CLI command run beside it, or after it, reads the same). */
    public Path configOf(DropwizardTestSupport<BackstopConfiguration> app) {
        return configs.get(app);
    }

    public void stop(DropwizardTestSupport<BackstopConfiguration> app) {
        app.after();
        apps.remove(app);
    }

    /** A connection to the apps' H2 catalog (the same in-process database they use). */
    public java.sql.Connection catalog() throws java.sql.SQLException {
        return java.sql.DriverManager.getConnection("jdbc:h2:" + dir + "/catalog", "backstop", "");
    }

    public static String api(DropwizardTestSupport<BackstopConfiguration> app, String path) {
        return "http://127.0.0.1:" + app.getLocalPort() + "/api/v1" + path;
    }

    public static String admin(DropwizardTestSupport<BackstopConfiguration> app, String path) {
        return "http://127.0.0.1:" + app.getAdminPort() + path;
    }

    @Override
    public void close() {
        new ArrayList<>(apps).forEach(this::stop);
    }
}
