package dev.backstop.metrics;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.model.DiskConfig;
import dev.backstop.model.MetricName;
import dev.backstop.schedule.JobSpec;
import dev.backstop.source.SourceFactory;
import java.text.ParseException;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.TimeZone;
import org.quartz.CronExpression;

/**
 * The series the shipped alert rules and dashboard read, registered from the configuration at
 * start so that they exist from the first scrape (the dashboard shows zeros, not "no data"):
 * counters and timers at zero for every outcome (an alert on
 * {@code increase()} of a series that appears only with its first failure misses that failure),
 * and the configured bounds the rules compare against (schedule interval, drill max age, disk
 * thresholds), so the rules need no per-site numbers.
 */
public final class AlertedSeries {
    private AlertedSeries() {}

    public static void register(List<? extends SourceFactory> sources, List<JobSpec> jobs, java.time.ZoneId timeZone,
            DiskConfig disk, MetricRegistry metrics) {
        for (SourceFactory source : sources) {
            metrics.timer(MetricName.of("backstop.snapshot.duration", "source", source.name()));
            metrics.timer(MetricName.of("backstop.restore.duration", "source", source.name()));
            metrics.meter(MetricName.of("backstop.snapshot.raw.bytes", "source", source.name()));
            metrics.meter(MetricName.of("backstop.snapshot.stored.bytes", "source", source.name()));
            metrics.meter(MetricName.of("backstop.snapshot.added.bytes", "source", source.name()));
            for (String outcome : List.of("completed", "failed", "cancelled")) {
                metrics.meter(MetricName.of("backstop.snapshots", "source", source.name(), "outcome", outcome));
                metrics.meter(MetricName.of("backstop.restores", "source", source.name(), "outcome", outcome));
            }
            metrics.meter(MetricName.of("backstop.restores", "source", source.name(), "outcome", "dry_run"));
            if (source.verify() != null) {
                for (String outcome : List.of("passed", "failed")) {
                    metrics.meter(MetricName.of("backstop.verifications", "source", source.name(), "outcome", outcome));
                }
                long maxAge = source.verify().maxAge().toSeconds();
                metrics.gauge(MetricName.of("backstop.verification.max.age.seconds", "source", source.name()), () -> () -> maxAge);
            }
        }
        TimeZone zone = TimeZone.getTimeZone(timeZone);
        for (JobSpec job : jobs) {
            metrics.meter(MetricName.of("backstop.job.misfires", "job", job.name()));
            metrics.timer(MetricName.of("backstop.job.duration", "job", job.name()));
            for (String outcome : List.of("ok", "skipped", "failed")) {
                metrics.meter(MetricName.of("backstop.job.runs", "job", job.name(), "outcome", outcome));
            }
            if (job.kind() == dev.backstop.schedule.JobKind.SNAPSHOT) {
                long interval = intervalSeconds(job.cron(), zone, Instant.now());
                metrics.gauge(MetricName.of("backstop.snapshot.schedule.interval.seconds", "source", job.subject()),
                        () -> () -> interval);
            }
        }
        double warn = disk.warnFreePercent();
        double critical = disk.criticalFreePercent();
        metrics.gauge(MetricName.of("backstop.disk.threshold.percent", "level", "warn"), () -> () -> warn);
        metrics.gauge(MetricName.of("backstop.disk.threshold.percent", "level", "critical"), () -> () -> critical);
    }

    /**
     * Each target's repository by pack state ({@code live}, {@code pending}, {@code condemned}):
     * {@code backstop_repository_stored_bytes}, {@code _packs} and {@code _chunks}, read at most once
     * per health period.
     */
    public static void registerRepositories(java.util.Collection<String> targets, dev.backstop.repository.RepositoryUsage usage,
            MetricRegistry metrics) {
        for (String target : targets) {
            for (String status : List.of("LIVE", "PENDING", "CONDEMNED")) {
                String state = status.toLowerCase(java.util.Locale.ROOT);
                metrics.gauge(MetricName.of("backstop.repository.stored.bytes", "target", target, "status", state),
                        () -> () -> usage.of(target, status).storedBytes());
                metrics.gauge(MetricName.of("backstop.repository.packs", "target", target, "status", state),
                        () -> () -> usage.of(target, status).packs());
                metrics.gauge(MetricName.of("backstop.repository.chunks", "target", target, "status", state),
                        () -> () -> usage.of(target, status).chunks());
            }
        }
    }

    /** Seconds between the next two fire times of a cron (the schedule's period); 0 when it fires at most once more. */
    static long intervalSeconds(String cron, TimeZone zone, Instant now) {
        try {
            CronExpression expression = new CronExpression(cron);
            expression.setTimeZone(zone);
            Date next = expression.getNextValidTimeAfter(Date.from(now));
            Date after = next == null ? null : expression.getNextValidTimeAfter(next);
            return after == null ? 0 : (after.getTime() - next.getTime()) / 1000;
        } catch (ParseException e) {
            return 0; // validated at startup: cannot happen for a configured job
        }
    }
}
