package dev.backstop.schedule;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.core.BackstopException;
import dev.backstop.db.Catalog;
import dev.backstop.model.Misfire;
import io.dropwizard.lifecycle.Managed;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TimeZone;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.quartz.CronScheduleBuilder;
import org.quartz.CronTrigger;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDataMap;
import org.quartz.JobDetail;
import org.quartz.JobExecutionContext;
import org.quartz.JobKey;
import org.quartz.ObjectAlreadyExistsException;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.quartz.impl.StdSchedulerFactory;
import org.quartz.impl.matchers.GroupMatcher;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quartz, managed by Dropwizard: a JDBC job store in the catalog database (tables created by our own
 * migrations), jobs built from the service's object graph, and the configured schedules brought in
 * line with the job store at every start (jobs added, changed or removed; nothing to do by hand).
 * On shutdown no new job starts; running ones get {@code shutdownGracePeriod} to finish and are then
 * aborted (their snapshot rows end FAILED, their uploads are aborted).
 */
public final class BackstopScheduler implements Managed {
    private static final Logger LOG = LoggerFactory.getLogger(BackstopScheduler.class);
    /** Job data key: who asked for a run (absent: the schedule). */
    public static final String REQUESTED_BY = "requestedBy";
    /** The groups (job kinds) this service owns in the job store. */

    private final SchedulerConfig config;
    private final Scheduler quartz;
    private final Map<String, JobSpec> specs;
    private final JobRunListener runs;
    /** How long aborted jobs get to end their rows before the scheduler shuts down without them. */
    public static final Duration ABORT_WAIT = Duration.ofSeconds(30);

    private final Runnable abortRunning;

    private BackstopScheduler(SchedulerConfig config, Scheduler quartz, Map<String, JobSpec> specs, JobRunListener runs,
            Runnable abortRunning) {
        this.config = config;
        this.quartz = quartz;
        this.specs = specs;
        this.runs = runs;
        this.abortRunning = abortRunning;
    }

    /**
     * Builds the (not yet started) scheduler.
     *
     * @param jobs         how to build each job class
     * @param abortRunning stops this node's running snapshots when the grace period is over
     */
    public static BackstopScheduler create(SchedulerConfig config, Catalog catalog, List<JobSpec> specs,
            Map<Class<? extends Job>, Supplier<? extends Job>> jobs, MetricRegistry metrics, Clock clock, Runnable abortRunning)
            throws SchedulerException {
        if (config.clustered() && !"postgresql".equals(catalog.type())) {
            throw new IllegalArgumentException("scheduler.clustered needs a PostgreSQL catalog (catalog.url jdbc:postgresql:...)");
        }
        // Quartz keeps data sources and schedulers in JVM-wide registries; a unique name per instance
        // keeps two services in one JVM (tests, embedding) from sharing either.
        String dataSourceName = "backstop-" + config.name() + "-" + config.instanceId() + "-" + java.util.UUID.randomUUID();
        DBConnectionManager.getInstance().addConnectionProvider(dataSourceName, new CatalogConnections(catalog.dataSource()));
        Properties p = new Properties();
        p.setProperty(StdSchedulerFactory.PROP_SCHED_INSTANCE_NAME, config.name());
        p.setProperty(StdSchedulerFactory.PROP_SCHED_INSTANCE_ID, config.instanceId());
        p.setProperty(StdSchedulerFactory.PROP_SCHED_MAKE_SCHEDULER_THREAD_DAEMON, "true");
        p.setProperty("org.quartz.scheduler.threadsInheritContextClassLoaderOfInitializer", "true");
        p.setProperty("org.quartz.threadPool.threadCount", Integer.toString(config.threadCount()));
        p.setProperty("org.quartz.threadPool.makeThreadsDaemons", "true");
        p.setProperty("org.quartz.threadPool.threadNamePrefix", "job");
        p.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
        p.setProperty("org.quartz.jobStore.driverDelegateClass", "postgresql".equals(catalog.type())
                ? "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate" : "org.quartz.impl.jdbcjobstore.StdJDBCDelegate");
        p.setProperty("org.quartz.jobStore.dataSource", dataSourceName);
        p.setProperty("org.quartz.jobStore.useProperties", "true");
        p.setProperty("org.quartz.jobStore.misfireThreshold", Long.toString(config.misfireThreshold().toMilliseconds()));
        p.setProperty("org.quartz.jobStore.isClustered", Boolean.toString(config.clustered()));
        p.setProperty("org.quartz.jobStore.clusterCheckinInterval", Long.toString(config.clusterCheckinInterval().toMilliseconds()));
        p.setProperty("org.quartz.jobStore.acquireTriggersWithinLock", Boolean.toString(config.clustered()));
        StdSchedulerFactory factory = new StdSchedulerFactory(p);
        Scheduler quartz = factory.getScheduler();
        org.quartz.impl.SchedulerRepository.getInstance().remove(config.name());
        quartz.setJobFactory((bundle, scheduler) -> {
            Supplier<? extends Job> supplier = jobs.get(bundle.getJobDetail().getJobClass());
            if (supplier == null) {
                throw new SchedulerException("no job of type " + bundle.getJobDetail().getJobClass().getName());
            }
            return supplier.get();
        });
        JobRunListener runs = new JobRunListener(metrics, catalog.audit(), clock);
        quartz.getListenerManager().addJobListener(runs);
        quartz.getListenerManager().addTriggerListener(runs);
        Map<String, JobSpec> byName = new LinkedHashMap<>();
        specs.forEach(spec -> byName.put(spec.name(), spec));
        return new BackstopScheduler(config, quartz, byName, runs, abortRunning);
    }

    @Override
    public void start() throws SchedulerException {
        synchronize();
        if (config.enabled()) {
            quartz.start();
            LOG.info("Scheduler {} started on node {} ({} jobs{})", config.name(), config.instanceId(), specs.size(),
                    config.clustered() ? ", clustered" : "");
        } else {
            LOG.info("Scheduler disabled on this node (scheduler.enabled: false); {} jobs are configured", specs.size());
        }
    }

    /** Brings the job store in line with the configuration: adds, reschedules and removes jobs. */
    void synchronize() throws SchedulerException {
        Set<JobKey> wanted = new HashSet<>();
        for (JobSpec spec : specs.values()) {
            JobKey key = JobKey.jobKey(spec.subject(), spec.group());
            wanted.add(key);
            JobDetail detail = JobBuilder.newJob(spec.kind().jobClass()).withIdentity(key).requestRecovery(spec.kind().recover()).storeDurably()
                    .withDescription(spec.name()).build();
            CronTrigger trigger = TriggerBuilder.newTrigger().withIdentity(spec.subject(), spec.group()).forJob(key)
                    .withSchedule(cron(spec)).build();
            try {
                Trigger existing = quartz.getTrigger(trigger.getKey());
                quartz.addJob(detail, true, true);
                if (existing == null) {
                    quartz.scheduleJob(trigger);
                    LOG.info("Scheduled job {}: '{}' ({})", spec.name(), spec.cron(), config.timeZone());
                } else if (!sameSchedule(existing, spec)) {
                    quartz.rescheduleJob(trigger.getKey(), trigger);
                    LOG.info("Rescheduled job {}: '{}' ({})", spec.name(), spec.cron(), config.timeZone());
                }
            } catch (ObjectAlreadyExistsException e) {
                LOG.debug("Job {} was added by another node at the same time", spec.name());
            }
        }
        for (JobKind jobKind : JobKind.values()) {
            String kind = jobKind.group();
            for (JobKey key : quartz.getJobKeys(GroupMatcher.jobGroupEquals(kind))) {
                if (!wanted.contains(key)) {
                    quartz.deleteJob(key);
                    LOG.info("Removed job {}: no longer in the configuration", JobNames.of(key));
                }
            }
        }
    }

    private CronScheduleBuilder cron(JobSpec spec) {
        CronScheduleBuilder builder = CronScheduleBuilder.cronSchedule(spec.cron()).inTimeZone(TimeZone.getTimeZone(config.timeZone()));
        return spec.misfire() == Misfire.SKIP ? builder.withMisfireHandlingInstructionDoNothing()
                : builder.withMisfireHandlingInstructionFireAndProceed();
    }

    private boolean sameSchedule(Trigger existing, JobSpec spec) {
        return existing instanceof CronTrigger c && c.getCronExpression().equals(spec.cron())
                && c.getMisfireInstruction() == spec.misfire().instruction()
                && c.getTimeZone().toZoneId().equals(config.timeZone());
    }

    @Override
    public void stop() throws Exception {
        if (quartz.isShutdown()) {
            return;
        }
        quartz.standby();
        Instant deadline = Instant.now().plusMillis(config.shutdownGracePeriod().toMilliseconds());
        while (!quartz.getCurrentlyExecutingJobs().isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        List<JobExecutionContext> running = quartz.getCurrentlyExecutingJobs();
        if (!running.isEmpty()) {
            LOG.warn("Aborting {} jobs still running after the {} shutdown grace period: {}", running.size(),
                    config.shutdownGracePeriod(), running.stream().map(c -> JobNames.of(c.getJobDetail().getKey())).toList());
            abortRunning.run();
            for (JobExecutionContext context : running) {
                if (context.getJobInstance() instanceof org.quartz.InterruptableJob) {
                    quartz.interrupt(context.getFireInstanceId());
                }
            }
        }
        Thread waiter = new Thread(() -> {
            try {
                quartz.shutdown(true);
            } catch (SchedulerException e) {
                LOG.warn("Scheduler shutdown: {}", e.getMessage());
            }
        }, "scheduler-shutdown");
        waiter.start();
        // An aborted snapshot stops at its next write, but the compressor first finishes the jobs it
        // holds (at a high zstd level that can take many seconds): wait as long as SnapshotService
        // does for snapshots started through the API, well inside systemd's TimeoutStopSec.
        waiter.join(ABORT_WAIT.toMillis());
        if (waiter.isAlive()) {
            LOG.warn("Jobs did not stop within {} s of being aborted; shutting the scheduler down without them",
                    ABORT_WAIT.toSeconds());
            quartz.shutdown(false);
        }
    }

    public SchedulerConfig config() {
        return config;
    }

    public Scheduler quartz() {
        return quartz;
    }

    public Map<String, JobSpec> specs() {
        return specs;
    }

    /** Every configured job with its trigger's state and its last recorded run. */
    public List<JobView> jobs() {
        List<JobView> views = new ArrayList<>();
        for (JobSpec spec : specs.values()) {
            views.add(view(spec));
        }
        return views;
    }

    public JobView job(String name) {
        return view(spec(name));
    }

    private JobView view(JobSpec spec) {
        try {
            TriggerKey key = TriggerKey.triggerKey(spec.subject(), spec.group());
            Trigger trigger = quartz.getTrigger(key);
            String state = trigger == null ? "NONE" : quartz.getTriggerState(key).name();
            JobView.LastRun last = runs == null ? null : lastRun(spec.name());
            return new JobView(spec.name(), spec.group(), spec.subject(), spec.cron(), config.timeZone().getId(),
                    spec.misfire().json(), instant(trigger == null ? null : trigger.getNextFireTime()),
                    instant(trigger == null ? null : trigger.getPreviousFireTime()), state, last);
        } catch (SchedulerException e) {
            throw new BackstopException(dev.backstop.core.ProblemType.SERVICE_UNAVAILABLE,
                    "cannot read job " + spec.name() + " from the job store: " + e.getMessage(), e);
        }
    }

    private JobView.LastRun lastRun(String job) {
        return runs.latest(job).orElse(null);
    }

    /** Runs a job now, once, on whichever node picks it up first. */
    public JobView trigger(String name, String actor) {
        JobSpec spec = spec(name);
        call(() -> quartz.triggerJob(JobKey.jobKey(spec.subject(), spec.group()), new JobDataMap(Map.of(REQUESTED_BY, actor))),
                name);
        LOG.info("Job {} triggered by {}", name, actor);
        return view(spec);
    }

    public JobView pause(String name, String actor) {
        JobSpec spec = spec(name);
        call(() -> quartz.pauseJob(JobKey.jobKey(spec.subject(), spec.group())), name);
        LOG.info("Job {} paused by {}", name, actor);
        return view(spec);
    }

    public JobView resume(String name, String actor) {
        JobSpec spec = spec(name);
        call(() -> quartz.resumeJob(JobKey.jobKey(spec.subject(), spec.group())), name);
        LOG.info("Job {} resumed by {}", name, actor);
        return view(spec);
    }

    private JobSpec spec(String name) {
        JobSpec spec = specs.get(name);
        if (spec == null) {
            throw BackstopException.notFound("no job " + name + "; jobs: " + String.join(", ", specs.keySet()));
        }
        return spec;
    }

    private interface QuartzCall {
        void run() throws SchedulerException;
    }

    private static void call(QuartzCall call, String name) {
        try {
            call.run();
        } catch (SchedulerException e) {
            throw new BackstopException(dev.backstop.core.ProblemType.SERVICE_UNAVAILABLE,
                    "job " + name + ": the job store did not accept the change: " + e.getMessage(), e);
        }
    }

    private static Instant instant(Date date) {
        return date == null ? null : date.toInstant();
    }

    /** Hands Quartz connections from the catalog's pool (Quartz restores auto-commit when it closes them). */
    private record CatalogConnections(DataSource dataSource) implements ConnectionProvider {
        @Override
        public Connection getConnection() throws SQLException {
            return dataSource.getConnection();
        }

        @Override
        public void shutdown() {
            // the pool belongs to the catalog
        }

        @Override
        public void initialize() {
            // nothing to do
        }
    }
}
