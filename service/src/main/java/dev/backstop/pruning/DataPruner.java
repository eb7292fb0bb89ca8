package dev.backstop.pruning;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.core.BackstopException;
import dev.backstop.db.AuditDao;
import dev.backstop.db.AuditEvent;
import dev.backstop.model.AuditOutcome;
import dev.backstop.model.MetricName;
import dev.backstop.source.PruningDialect;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs data pruning policies: counts the rows past the age first (a dry run stops there), then
 * deletes them in batches of {@code batchSize}, each committed on its own, pausing between batches.
 * Counts go to the audit trail and to metrics.
 */
public final class DataPruner {
    private static final Logger LOG = LoggerFactory.getLogger(DataPruner.class);

    /** What a run found and did. */
    public record Outcome(String policy, Instant cutoff, long eligible, long deleted, int batches, boolean dryRun) {
        public String summary() {
            return (dryRun ? "dry run: " : "") + eligible + " rows older than " + cutoff + " in the table"
                    + (dryRun ? "" : "; deleted " + deleted + " in " + batches + " batches");
        }
    }

    private final Map<String, DataPrunePolicy> policies = new LinkedHashMap<>();
    private final Map<String, PruningDialect> dialects;
    private final AuditDao audit;
    private final MetricRegistry metrics;
    private final Clock clock;

    /** {@code dialects}: by source name, for the sources that have tables (each source type's plug-in provides its own). */
    public DataPruner(List<DataPrunePolicy> policies, Map<String, PruningDialect> dialects, AuditDao audit, MetricRegistry metrics,
            Clock clock) {
        policies.forEach(p -> this.policies.put(p.name(), p));
        this.dialects = Map.copyOf(dialects);
        this.audit = audit;
        this.metrics = metrics;
        this.clock = clock;
    }

    public Map<String, DataPrunePolicy> policies() {
        return policies;
    }

    public Outcome prune(String name, String actor, String why) throws IOException, InterruptedException {
        return prune(name, actor, why, () -> false);
    }

    /** As above; {@code cancelled} is checked between batches (the rows deleted so far stay deleted). */
    public Outcome prune(String name, String actor, String why, java.util.function.BooleanSupplier cancelled)
            throws IOException, InterruptedException {
        DataPrunePolicy policy = policies.get(name);
        if (policy == null) {
            throw BackstopException.notFound("no pruning policy " + name);
        }
        PruningDialect dialect = dialects.get(policy.source());
        if (dialect == null) {
            throw BackstopException.conflict("source '" + policy.source() + "' of pruning policy " + name + " has no tables to prune");
        }
        Instant cutoff = clock.instant().minusMillis(policy.olderThan().toMilliseconds());
        try (PruningDialect.TablePruning table = dialect.open(policy.table(), policy.timestampColumn(), cutoff)) {
            long eligible = table.eligible();
            LOG.info("Pruning {} ({}): {} rows of {} older than {}", name, why, eligible, policy.table(), cutoff);
            long deleted = 0;
            int batches = 0;
            if (!policy.dryRun()) {
                while (true) {
                    int n = table.deleteBatch(policy.batchSize());
                    if (n == 0) {
                        break;
                    }
                    deleted += n;
                    batches++;
                    metrics.meter(MetricName.of("backstop.pruning.rows.deleted", "policy", name)).mark(n);
                    if (n < policy.batchSize()) {
                        break;
                    }
                    if (cancelled.getAsBoolean()) {
                        throw new InterruptedException("stopped after " + deleted + " rows: the service is shutting down");
                    }
                    Thread.sleep(policy.pause().toMilliseconds());
                }
            }
            Outcome outcome = new Outcome(name, cutoff, eligible, deleted, batches, policy.dryRun());
            audit.append(new AuditEvent(null, clock.instant(), actor, "data.pruned", "table", policy.source() + ":" + policy.table(),
                    AuditOutcome.SUCCEEDED, "policy " + name + " (" + why + "): " + outcome.summary()));
            return outcome;
        } catch (IOException | InterruptedException | RuntimeException e) {
            audit.append(new AuditEvent(null, clock.instant(), actor, "data.pruned", "table", policy.source() + ":" + policy.table(),
                    AuditOutcome.FAILED, "policy " + name + " (" + why + "): " + e.getMessage()));
            throw e;
        }
    }
}
