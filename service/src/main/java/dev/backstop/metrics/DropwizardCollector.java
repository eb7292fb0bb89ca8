package dev.backstop.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Counting;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Sampling;
import com.codahale.metrics.Snapshot;
import com.codahale.metrics.Timer;
import dev.backstop.model.MetricName;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Quantile;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Exposes the Dropwizard registry in Prometheus conventions: snake_case names, timers as summaries
 * in seconds, meters as {@code _total} counters, Dropwizard counters (which can go down) and gauges as
 * gauges, and labels decoded from {@link MetricName}. JVM metrics are left to the Prometheus JVM
 * instrumentation, which already follows the conventions, so {@code jvm.*} is skipped here.
 */
public final class DropwizardCollector implements MultiCollector {
    private static final double NANOS_PER_SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final double[] QUANTILES = {0.5, 0.75, 0.95, 0.99, 0.999};

    private final MetricRegistry registry;
    private final Predicate<String> include;

    public DropwizardCollector(MetricRegistry registry) {
        this(registry, name -> !name.startsWith("jvm."));
    }

    public DropwizardCollector(MetricRegistry registry, Predicate<String> include) {
        this.registry = registry;
        this.include = include;
    }

    @Override
    public MetricSnapshots collect() {
        Map<String, Family> families = new LinkedHashMap<>();
        for (Map.Entry<String, Metric> entry : registry.getMetrics().entrySet()) {
            if (!include.test(entry.getKey())) {
                continue;
            }
            MetricName name = MetricName.parse(entry.getKey());
            Labels labels = labelsOf(name.labels());
            Metric metric = entry.getValue();
            if (metric instanceof Timer timer) {
                family(families, name.base(), Kind.SUMMARY, "_seconds", "Timer " + name.base() + " in seconds")
                        .add(summary(timer, timer, labels, 1 / NANOS_PER_SECOND));
            } else if (metric instanceof Histogram histogram) {
                family(families, name.base(), Kind.SUMMARY, "", "Histogram " + name.base())
                        .add(summary(histogram, histogram, labels, 1.0));
            } else if (metric instanceof Meter meter) {
                family(families, name.base(), Kind.COUNTER, "", "Meter " + name.base() + " (events)")
                        .add(CounterSnapshot.CounterDataPointSnapshot.builder().value(meter.getCount()).labels(labels).build());
            } else if (metric instanceof Counter counter) {
                family(families, name.base(), Kind.GAUGE, "", "Counter " + name.base())
                        .add(gauge(counter.getCount(), labels));
            } else if (metric instanceof Gauge<?> gauge) {
                Double value = numeric(gauge);
                if (value != null) {
                    family(families, name.base(), Kind.GAUGE, "", "Gauge " + name.base()).add(gauge(value, labels));
                }
            }
        }
        List<MetricSnapshot> snapshots = new ArrayList<>();
        families.values().forEach(family -> snapshots.add(family.build()));
        return new MetricSnapshots(snapshots);
    }

    private static Family family(Map<String, Family> families, String base, Kind kind, String unitSuffix, String help) {
        String name = PrometheusNames.of(base, unitSuffix, kind == Kind.COUNTER);
        return families.computeIfAbsent(name + "#" + kind, k -> new Family(name, kind, help));
    }

    private static SummarySnapshot.SummaryDataPointSnapshot summary(Counting counting, Sampling sampling, Labels labels, double scale) {
        Snapshot snapshot = sampling.getSnapshot();
        Quantiles.Builder quantiles = Quantiles.builder();
        for (double q : QUANTILES) {
            quantiles.quantile(new Quantile(q, snapshot.getValue(q) * scale));
        }
        return SummarySnapshot.SummaryDataPointSnapshot.builder()
                .count(counting.getCount())
                .quantiles(quantiles.build())
                .labels(labels)
                .build();
    }

    private static GaugeSnapshot.GaugeDataPointSnapshot gauge(double value, Labels labels) {
        return GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).labels(labels).build();
    }

    private static Double numeric(Gauge<?> gauge) {
        Object value;
        try {
            value = gauge.getValue();
        } catch (RuntimeException e) {
            return null; // a gauge whose source is gone must not break the whole scrape
        }
        if (value instanceof Number number) {
            return number.doubleValue();
        }
        if (value instanceof Boolean bool) {
            return bool ? 1.0 : 0.0;
        }
        return null;
    }

    private static Labels labelsOf(Map<String, String> labels) {
        Labels.Builder builder = Labels.builder();
        labels.forEach((k, v) -> builder.label(PrometheusNames.label(k), v));
        return builder.build();
    }

    private enum Kind { COUNTER, GAUGE, SUMMARY }

    private static final class Family {
        private final String name;
        private final Kind kind;
        private final String help;
        private final List<Object> points = new ArrayList<>();

        Family(String name, Kind kind, String help) {
            this.name = name;
            this.kind = kind;
            this.help = help;
        }

        void add(Object point) {
            points.add(point);
        }

        MetricSnapshot build() {
            return switch (kind) {
                case COUNTER -> {
                    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
                    points.forEach(p -> b.dataPoint((CounterSnapshot.CounterDataPointSnapshot) p));
                    yield b.build();
                }
                case GAUGE -> {
                    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
                    points.forEach(p -> b.dataPoint((GaugeSnapshot.GaugeDataPointSnapshot) p));
                    yield b.build();
                }
                case SUMMARY -> {
                    SummarySnapshot.Builder b = SummarySnapshot.builder().name(name).help(help);
                    points.forEach(p -> b.dataPoint((SummarySnapshot.SummaryDataPointSnapshot) p));
                    yield b.build();
                }
            };
        }
    }
}
