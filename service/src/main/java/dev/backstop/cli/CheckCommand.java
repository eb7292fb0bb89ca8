package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import dev.backstop.db.Catalog;
import dev.backstop.health.CatalogProbe;
import dev.backstop.health.DiskSpaceProbe;
import dev.backstop.health.HealthObservation;
import dev.backstop.health.HealthProbe;
import dev.backstop.health.HealthStatus;
import dev.backstop.health.SourceProbe;
import dev.backstop.health.StorageProbe;
import dev.backstop.pipeline.OpenPgpEncryptor;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceFactory;
import dev.backstop.storage.StorageTarget;
import io.dropwizard.core.cli.ConfiguredCommand;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.db.ManagedDataSource;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import net.sourceforge.argparse4j.inf.Namespace;

/**
 * {@code java -jar backstop.jar check config.yml}: validates the configuration (Dropwizard does that
 * before this runs) and every dependency, one line per item, like {@code barman check}: the catalog
 * connects and its migrations are current; each storage target takes a write, read back and delete;
 * each source is reachable with its tool present and new enough; disk thresholds; the encryption
 * key encrypts. Changes nothing: a catalog that does not exist is not created, migrations are not
 * applied, and the storage probe removes the object it writes. Exits 1 when any item fails.
 */
public final class CheckCommand extends ConfiguredCommand<BackstopConfiguration> {
    private final PrintStream out;

    public CheckCommand() {
        this(System.out);
    }

    CheckCommand(PrintStream out) {
        super("check", "Check the configuration and every dependency; exit 1 on any failure");
        this.out = out;
    }

    /** One checked item. */
    record Line(HealthStatus status, String item, String detail) {}

    /** A configuration that does not parse is the first failed item, not a stack trace. */
    @Override
    public void onError(io.dropwizard.core.cli.Cli cli, Namespace namespace, Throwable e) {
        out.printf(Locale.ROOT, "%-4s  %-28s %s%n", "fail", "config", BackstopCommand.oneLine(e));
        out.printf(Locale.ROOT, "%d checked, %d failed%n", 1, 1);
        out.flush();
    }

    @Override
    protected void run(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        BackstopCommand.requireConfigFile(getName(), namespace);
        BackstopCommand.logsToStderr();
        List<Line> lines = check(bootstrap, config).stream().map(CheckCommand::explainInUse).toList();
        for (Line line : lines) {
            String status = line.status() == HealthStatus.PASS ? "ok" : line.status().wire();
            out.printf(Locale.ROOT, "%-4s  %-28s %s%n", status, line.item(), line.detail());
        }
        long failed = lines.stream().filter(l -> l.status() == HealthStatus.FAIL).count();
        out.printf(Locale.ROOT, "%d checked, %d failed%n", lines.size(), failed);
        out.flush();
        if (failed > 0) {
            System.exit(1);
        }
    }

    List<Line> check(Bootstrap<BackstopConfiguration> bootstrap, BackstopConfiguration config) {
        List<Line> lines = new ArrayList<>();
        lines.add(new Line(HealthStatus.PASS, "config", "parsed and valid"));
        Instant now = Instant.now();
        ManagedDataSource catalog = null;
        List<StorageTarget> targets = new ArrayList<>();
        dev.backstop.resilience.ThreadPools threads = dev.backstop.resilience.ThreadPools.standalone();
        try {
            try {
                // Checking changes nothing: an H2 catalog that does not exist is not created.
                catalog = ReadOnlyCatalog.existing(config.catalog()).build(bootstrap.getMetricRegistry(), "catalog-check");
            } catch (IllegalStateException missing) {
                lines.add(new Line(HealthStatus.WARN, "catalog", missing.getMessage()));
            }
            if (catalog != null) {
                List<Line> reachable = run("catalog", new CatalogProbe(catalog,
                        config.catalog().getValidationQuery().orElse("SELECT 1"), Duration.ofSeconds(5), false), now);
                lines.addAll(reachable);
                if (reachable.stream().noneMatch(l -> l.status() == HealthStatus.FAIL)) {
                    lines.add(migrations(catalog));
                }
            }
            boolean primary = true;
            // Built as the server builds them (ServiceGraph.targets): behind their guards, whose
            // breakers the probe reports, without retries so that check answers at once.
            var resilience = new dev.backstop.resilience.Resilience(config.resilience(), bootstrap.getMetricRegistry());
            for (Map.Entry<String, StorageTarget> target : dev.backstop.ServiceGraph.targets(config, resilience, threads).entrySet()) {
                targets.add(target.getValue());
                String creates = target.getValue().firstWriteCreates();
                if (creates != null) {
                    // Checking changes nothing: the probe would create the directory.
                    lines.add(new Line(creates.contains("cannot be created") ? HealthStatus.FAIL : HealthStatus.WARN,
                            "storage " + target.getKey(), creates));
                    primary = false;
                    continue;
                }
                lines.addAll(run("storage " + target.getKey(), new StorageProbe(target.getValue(), primary), now));
                primary = false;
            }
            SourceEnvironment environment = new SourceEnvironment(config.snapshots().stagingPath());
            for (SourceFactory factory : config.sources()) {
                if (catalog == null && factory.isDatabaseAt(config.catalog().getUrl())) {
                    lines.add(new Line(HealthStatus.WARN, "source " + factory.name(), "Backstop's own catalog, created at the "
                            + "server's first start"));
                    continue;
                }
                dev.backstop.source.SnapshotSource source = factory.build(environment);
                lines.addAll(run("source " + factory.name(), new SourceProbe(source), now));
                for (dev.backstop.source.ToolCheck tool : source.checkTools()) {
                    lines.add(new Line(tool.ok() ? HealthStatus.PASS : HealthStatus.FAIL, "source " + factory.name() + " " + tool.tool(),
                            tool.detail()));
                }
            }
            lines.addAll(run("disk", new DiskSpaceProbe(config.disk()), now));
            lines.addAll(encryption(config));
            lines.addAll(schedules(config, now));
        } finally {
            threads.close();
            targets.forEach(StorageTarget::close);
            try {
                if (catalog != null) {
                    catalog.stop();
                }
            } catch (Exception ignored) {
                // closing a pool that never connected
            }
        }
        return lines;
    }

    private static List<Line> run(String item, HealthProbe probe, Instant now) {
        List<Line> lines = new ArrayList<>();
        try {
            for (HealthObservation o : probe.observe(now)) {
                if (o.key().equals("catalog:connections") || o.key().equals("storage:circuitBreaker")) {
                    continue; // pool gauges and a breaker that has seen one call mean nothing in a one-shot check
                }
                String value = o.observedValue() == null ? "" : o.observedUnit() == null ? o.observedValue().toString()
                        : o.observedValue() + " " + o.observedUnit();
                boolean named = o.componentId().equals(o.component()) || item.endsWith(" " + o.componentId());
                String what = named ? item : item + " " + o.componentId();
                lines.add(new Line(o.status(), what, o.output() != null ? o.output() : o.measurement() + " " + value));
            }
        } catch (Exception e) {
            lines.add(new Line(HealthStatus.FAIL, item, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        return lines;
    }

    /** H2 lets one process open its file: while the server runs, say so instead of H2's lock message. */
    private static Line explainInUse(Line line) {
        if (line.status() == HealthStatus.FAIL && line.detail() != null && line.detail().contains("already in use")) {
            return new Line(HealthStatus.FAIL, line.item(), "the server is running and holds this H2 database (H2 allows one "
                    + "process): its own checks are at /health/detailed on the admin port");
        }
        return line;
    }

    private static Line migrations(ManagedDataSource catalog) {
        try {
            try (java.sql.Connection c = catalog.getConnection()) {
                if (ReadOnlyCatalog.empty(c)) {
                    return new Line(HealthStatus.WARN, "catalog migrations", "schema not created yet; applied at the next start");
                }
            }
            int pending = Catalog.pendingMigrations(catalog);
            return pending == 0 ? new Line(HealthStatus.PASS, "catalog migrations", "current")
                    : new Line(HealthStatus.WARN, "catalog migrations", pending + " pending; applied at the next start (or: db migrate)");
        } catch (Exception e) {
            return new Line(HealthStatus.FAIL, "catalog migrations", "cannot read: " + e.getMessage());
        }
    }

    /** The scheduler's mode, and each configured job with its next fire time. */
    private static List<Line> schedules(BackstopConfiguration config, Instant now) {
        List<Line> lines = new ArrayList<>();
        var scheduler = config.scheduler();
        lines.add(new Line(HealthStatus.PASS, "scheduler", (scheduler.enabled() ? "" : "disabled on this node; ")
                + (scheduler.clustered() ? "clustered" : "standalone") + " as " + scheduler.instanceId() + ", times in "
                + scheduler.timeZone()));
        for (var spec : config.jobSpecs()) {
            try {
                org.quartz.CronExpression cron = new org.quartz.CronExpression(spec.cron());
                cron.setTimeZone(java.util.TimeZone.getTimeZone(scheduler.timeZone()));
                java.util.Date next = cron.getNextValidTimeAfter(java.util.Date.from(now));
                lines.add(new Line(HealthStatus.PASS, "job " + spec.name(), "'" + spec.cron() + "', next "
                        + (next == null ? "never" : next.toInstant())));
            } catch (java.text.ParseException e) {
                lines.add(new Line(HealthStatus.FAIL, "job " + spec.name(), "invalid cron '" + spec.cron() + "': " + e.getMessage()));
            }
        }
        return lines;
    }

    /**
     * The recipient key encrypts; where a private key is configured, it is unlocked with the
     * passphrase and decrypts a probe encrypted to the recipient: each failure names which of the
     * two configuration keys is wrong.
     */
    private static List<Line> encryption(BackstopConfiguration config) {
        if (!config.encryption().enabled()) {
            return List.of(new Line(HealthStatus.WARN, "encryption", "off: snapshots are stored unencrypted (encryption.recipientKeyFile)"));
        }
        List<Line> lines = new ArrayList<>();
        OpenPgpEncryptor encryptor;
        try {
            encryptor = OpenPgpEncryptor.fromKeyFile(config.encryption().recipientKeyFile());
            try (OutputStream sink = encryptor.encrypt(OutputStream.nullOutputStream())) {
                sink.write("backstop check".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            lines.add(new Line(HealthStatus.PASS, "encryption", "encrypts to " + encryptor.recipientFingerprint()));
        } catch (Exception e) {
            lines.add(new Line(HealthStatus.FAIL, "encryption", BackstopCommand.oneLine(e)));
            encryptor = null;
        }
        if (config.encryption().privateKeyFile() == null) {
            lines.add(new Line(HealthStatus.PASS, "encryption private key", "not on this host (not needed to take snapshots; "
                    + "restores of encrypted snapshots need encryption.privateKeyFile)"));
            return lines;
        }
        try {
            dev.backstop.pipeline.OpenPgpDecryptor decryptor = dev.backstop.pipeline.OpenPgpDecryptor.fromKeyFile(
                    config.encryption().privateKeyFile(), config.encryption().privateKeyPassphrase());
            if (encryptor == null) {
                lines.add(new Line(HealthStatus.PASS, "encryption private key", "unlocked"));
            } else if (decryptor.decrypts(encryptor)) {
                lines.add(new Line(HealthStatus.PASS, "encryption private key", "unlocked; decrypts what is encrypted to "
                        + encryptor.recipientFingerprint()));
            } else {
                lines.add(new Line(HealthStatus.WARN, "encryption private key", "encryption.privateKeyFile is not the secret key of "
                        + encryptor.recipientFingerprint() + ": this host cannot restore the snapshots it takes (fine for a key "
                        + "kept for older snapshots after a rotation)"));
            }
        } catch (Exception e) {
            lines.add(new Line(HealthStatus.FAIL, "encryption private key", BackstopCommand.oneLine(e)));
        }
        return lines;
    }
}
