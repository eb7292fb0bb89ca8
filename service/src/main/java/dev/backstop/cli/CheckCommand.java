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
import dev.backstop.storage.StorageTargetFactory;
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
import net.sourceforge.argparse4j.inf.Namespace;

/**
 * {@code java -jar backstop.jar check config.yml}: validates the configuration (Dropwizard does that
 * before this runs) and every dependency, one line per item, like {@code barman check}: the catalog
 * connects and its migrations are current; each storage target takes a write, read back and delete;
 * each source is reachable with its tool present and new enough; disk thresholds; the encryption
 * key encrypts. Changes nothing (migrations are not applied). Exits 1 when any item fails.
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

    @Override
    protected void run(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        List<Line> lines = check(bootstrap, config);
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
        ManagedDataSource catalog = config.catalog().build(bootstrap.getMetricRegistry(), "catalog-check");
        List<StorageTarget> targets = new ArrayList<>();
        try {
            lines.addAll(run("catalog", new CatalogProbe(catalog, config.catalog().getValidationQuery().orElse("SELECT 1"),
                    Duration.ofSeconds(5)), now));
            lines.add(migrations(catalog));
            boolean primary = true;
            for (StorageTargetFactory factory : config.storage().targets()) {
                StorageTarget target = factory.build();
                targets.add(target);
                lines.addAll(run("storage " + factory.name(), new StorageProbe(target, primary), now));
                primary = false;
            }
            SourceEnvironment environment = new SourceEnvironment(config.snapshots().stagingPath());
            for (SourceFactory factory : config.sources()) {
                lines.addAll(run("source " + factory.name(), new SourceProbe(factory.build(environment)), now));
            }
            lines.addAll(run("disk", new DiskSpaceProbe(config.disk()), now));
            lines.add(encryption(config));
            lines.addAll(schedules(config, now));
        } finally {
            targets.forEach(StorageTarget::close);
            try {
                catalog.stop();
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
                if (o.key().equals("catalog:connections")) {
                    continue; // pool gauges mean nothing in a one-shot check
                }
                String value = o.observedValue() == null ? "" : o.observedValue() + " " + o.observedUnit();
                boolean named = o.componentId().equals(o.component()) || item.endsWith(" " + o.componentId());
                String what = named ? item : item + " " + o.componentId();
                lines.add(new Line(o.status(), what, o.output() != null ? o.output() : o.measurement() + " " + value));
            }
        } catch (Exception e) {
            lines.add(new Line(HealthStatus.FAIL, item, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        return lines;
    }

    private static Line migrations(ManagedDataSource catalog) {
        try {
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
        for (var spec : dev.backstop.ServiceGraph.jobSpecs(config)) {
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

    private static Line encryption(BackstopConfiguration config) {
        if (!config.encryption().enabled()) {
            return new Line(HealthStatus.WARN, "encryption", "off: snapshots are stored unencrypted (encryption.recipientKeyFile)");
        }
        try {
            OpenPgpEncryptor encryptor = OpenPgpEncryptor.fromKeyFile(config.encryption().recipientKeyFile());
            try (OutputStream sink = encryptor.encrypt(OutputStream.nullOutputStream())) {
                sink.write("backstop check".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return new Line(HealthStatus.PASS, "encryption", "encrypts to " + encryptor.recipientFingerprint());
        } catch (Exception e) {
            return new Line(HealthStatus.FAIL, "encryption", e.getMessage());
        }
    }
}
