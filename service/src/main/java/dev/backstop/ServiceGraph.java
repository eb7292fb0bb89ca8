package dev.backstop;

import dev.backstop.auth.ApiToken;
import dev.backstop.auth.GeneratedToken;
import dev.backstop.core.CatalogRebuilder;
import dev.backstop.core.Replicator;
import dev.backstop.core.PointInTimeWindows;
import dev.backstop.core.RestoreService;
import dev.backstop.core.SnapshotPipeline;
import dev.backstop.core.SnapshotService;
import dev.backstop.core.StorageSweeper;
import dev.backstop.core.VerificationService;
import dev.backstop.db.Catalog;
import dev.backstop.db.CatalogLease;
import dev.backstop.health.CatalogProbe;
import dev.backstop.health.DeadlockProbe;
import dev.backstop.health.DiskSpaceProbe;
import dev.backstop.health.HealthMonitor;
import dev.backstop.health.HealthProbe;
import dev.backstop.health.RestoreProbe;
import dev.backstop.health.SchedulerProbe;
import dev.backstop.health.SourceProbe;
import dev.backstop.health.StorageProbe;
import dev.backstop.metrics.DropwizardCollector;
import dev.backstop.model.Node;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.pipeline.OpenPgpDecryptor;
import dev.backstop.pipeline.OpenPgpEncryptor;
import dev.backstop.pruning.DataPruner;
import dev.backstop.pruning.DiskPressureMonitor;
import dev.backstop.resilience.Guard;
import dev.backstop.resilience.Resilience;
import dev.backstop.resilience.ThreadPools;
import dev.backstop.retention.RetentionService;
import dev.backstop.schedule.BackstopScheduler;
import dev.backstop.schedule.ClusterMembers;
import dev.backstop.schedule.DataPruneJob;
import dev.backstop.schedule.ReplicateJob;
import dev.backstop.schedule.RetentionJob;
import dev.backstop.schedule.SchedulerConfig;
import dev.backstop.schedule.SnapshotJob;
import dev.backstop.schedule.VerifyJob;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceFactory;
import dev.backstop.storage.StorageTarget;
import dev.backstop.storage.StorageTargetFactory;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import io.dropwizard.jdbi3.JdbiFactory;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds every long-lived object once, from the configuration. The server's
 * {@code run()} and the CLI commands both start here, so they cannot drift apart.
 *
 * @param version   release of this build ({@code dev} when not run from the packaged jar)
 * @param startedAt when the graph was built
 * @param targets   storage targets by name, in configuration order (the first is the primary)
 * @param scheduler the Quartz scheduler (null in CLI commands, which run without one)
 * @param threads   the managed executors every long-lived service runs on
 * @param windows   the recoverable windows of sources that restore to points in time
 */
public record ServiceGraph(
        BackstopConfiguration config,
        Clock clock,
        String version,
        Instant startedAt,
        Node node,
        Catalog catalog,
        List<ApiToken> tokens,
        Map<String, StorageTarget> targets,
        SnapshotService snapshots,
        RestoreService restores,
        RetentionService retention,
        VerificationService verification,
        DataPruner pruner,
        Replicator replicator,
        DiskPressureMonitor diskPressure,
        CatalogRebuilder rebuilder,
        StorageSweeper sweeper,
        HealthMonitor health,
        PrometheusRegistry prometheus,
        BackstopScheduler scheduler,
        ThreadPools threads,
        PointInTimeWindows windows,
        dev.backstop.repository.RepositoryCheck repositoryCheck) implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceGraph.class);

    /** The graph for CLI commands: everything but the scheduler. */
    public static ServiceGraph create(BackstopConfiguration config, Environment environment, Clock clock) throws Exception {
        return create(config, environment, clock, false);
    }

    /** The graph for the server: with the (not yet started) scheduler. */
    public static ServiceGraph createServer(BackstopConfiguration config, Environment environment, Clock clock) throws Exception {
        return create(config, environment, clock, true);
    }

    private static ServiceGraph create(BackstopConfiguration config, Environment environment, Clock clock, boolean withScheduler)
            throws Exception {
        String version = versionOf(BackstopApplication.class);
        ThreadPools threads = new ThreadPools(environment.lifecycle());
        Resilience resilience = new Resilience(config.resilience(), environment.metrics());
        SchedulerConfig schedulerConfig = config.scheduler();
        Catalog catalog = openCatalog(config.catalog(), environment, resilience.database("catalog"), schedulerConfig, threads);
        Node node = schedulerConfig.clustered()
                ? new Node(schedulerConfig.instanceId(), true, new ClusterMembers(catalog.jdbi(), schedulerConfig.name(), clock)::alive)
                : Node.standalone(schedulerConfig.instanceId());
        List<ApiToken> tokens = tokens(config);
        Map<String, StorageTarget> targets = targets(config, resilience, threads);
        OpenPgpEncryptor encryptor = config.encryption().enabled()
                ? OpenPgpEncryptor.fromKeyFile(config.encryption().recipientKeyFile()) : null;
        OpenPgpDecryptor decryptor = config.encryption().privateKeyFile() == null ? null
                : OpenPgpDecryptor.fromKeyFile(config.encryption().privateKeyFile(), config.encryption().privateKeyPassphrase());
        ObjectCodec codec = new ObjectCodec(config.compression(), encryptor, decryptor);
        SnapshotPipeline pipeline = new SnapshotPipeline(codec);
        // Each source sees its own storage target; restores, drills and pruning reach source
        // databases through the same guards.
        Map<String, SourceEnvironment> sourceEnvironments = new LinkedHashMap<>();
        Map<String, SnapshotService.Binding> bindings = new LinkedHashMap<>();
        // Sources ask for snapshots of themselves (a postgres-cluster whose WAL chain broke) once the
        // snapshot service, built from these environments, exists.
        java.util.concurrent.atomic.AtomicReference<SnapshotService> snapshotService = new java.util.concurrent.atomic.AtomicReference<>();
        SourceEnvironment.SnapshotRequests requests = (source, reason) -> {
            SnapshotService service = snapshotService.get();
            if (service == null) {
                throw new IllegalStateException("the snapshot service is not running yet");
            }
            service.request(source, dev.backstop.model.SnapshotOrigin.LOG_GAP, reason);
        };
        for (SourceFactory factory : config.sources()) {
            StorageTarget target = factory.target() == null ? targets.values().iterator().next() : targets.get(factory.target());
            SourceEnvironment sourceEnvironment = new SourceEnvironment(config.snapshots().stagingPath(),
                    (source, connect) -> resilience.database(source).connect("connection to " + source, connect),
                    new SourceEnvironment.Storage(target, codec, environment.metrics(), threads, clock), requests);
            sourceEnvironments.put(factory.name(), sourceEnvironment);
            bindings.put(factory.name(), new SnapshotService.Binding(factory.build(sourceEnvironment), target));
        }
        Map<String, SourceFactory> sourceConfigs = new LinkedHashMap<>();
        config.sources().forEach(source -> sourceConfigs.put(source.name(), source));
        Map<String, List<String>> replicas = new LinkedHashMap<>();
        config.sources().forEach(source -> replicas.put(source.name(), source.replicas() == null ? List.of() : source.replicas()));
        Replicator replicator = new Replicator(targets, replicas, catalog.snapshots(), catalog.copies(), clock, environment.metrics(),
                threads);
        dev.backstop.repository.Repositories repositories = new dev.backstop.repository.Repositories(targets, catalog.repository(),
                codec, threads, clock, config.snapshots().format() == dev.backstop.core.SnapshotsConfig.Format.CHUNKED,
                sourceFormats(config), config.snapshots().packSize().toBytes());
        replicator.withRepositories(repositories);
        SnapshotService snapshots = new SnapshotService(node, bindings, catalog.snapshots(), pipeline, environment.getObjectMapper(),
                environment.metrics(), clock, version, config.snapshots().maxConcurrent(), replicator,
                Duration.ofMillis(config.scheduler().shutdownGracePeriod().toMilliseconds()), threads, repositories);
        snapshotService.set(snapshots);
        Map<String, dev.backstop.source.SourceRestorer> restorers = new LinkedHashMap<>();
        config.sources().forEach(source -> restorers.put(source.name(), source.restorer(sourceEnvironments.get(source.name()))));
        RestoreService restores = new RestoreService(node, restorers, replicator, catalog.snapshots(), catalog.restores(),
                catalog.audit(), codec, config.snapshots().stagingPath(), environment.getObjectMapper(), clock,
                environment.metrics(), threads, repositories);
        RetentionService retention = new RetentionService(sourceConfigs, restorers, catalog.snapshots(), snapshots, catalog.audit(),
                schedulerConfig.timeZone(), clock).withRepositories(repositories, new dev.backstop.repository.RepositoryPruner(
                        repositories, Duration.ofMillis(config.snapshots().pruneGracePeriod().toMilliseconds()),
                        config.snapshots().repackThreshold() / 100.0));
        PointInTimeWindows windows = new PointInTimeWindows(restorers, catalog.snapshots(), environment.metrics());
        VerificationService verification = new VerificationService(sourceConfigs, restorers, windows, catalog.snapshots(), restores,
                config.snapshots().stagingPath(), clock, environment.metrics(), targets, environment.getObjectMapper());
        Map<String, dev.backstop.source.PruningDialect> dialects = new LinkedHashMap<>();
        config.sources().forEach(source -> source.pruning(sourceEnvironments.get(source.name()))
                .ifPresent(d -> dialects.put(source.name(), d)));
        DataPruner pruner = new DataPruner(config.pruning().policies(), dialects, catalog.audit(), environment.metrics(), clock);
        DiskPressureMonitor diskPressure = new DiskPressureMonitor(config.disk(), config.pruning(), config.snapshots().stagingPath(),
                config.sources(), retention, pruner, catalog.audit(), environment.metrics(), clock, threads);
        StorageSweeper sweeper = new StorageSweeper(List.copyOf(targets.values()),
                Duration.ofMillis(config.storage().staleUploadAge().toMilliseconds()),
                Duration.ofMillis(config.storage().sweepInterval().toMilliseconds()), threads);
        dev.backstop.repository.RepositoryCheck repositoryCheck = new dev.backstop.repository.RepositoryCheck(repositories, codec);
        BackstopScheduler scheduler = null;
        List<io.dropwizard.lifecycle.Managed> daemons = new ArrayList<>();
        List<HealthProbe> probes = probes(config, catalog, targets, bindings, windows);
        if (withScheduler) {
            Map<Class<? extends org.quartz.Job>, java.util.function.Supplier<? extends org.quartz.Job>> jobs = Map.of(
                    SnapshotJob.class, () -> new SnapshotJob(snapshots),
                    RetentionJob.class, () -> new RetentionJob(retention),
                    VerifyJob.class, () -> new VerifyJob(verification),
                    DataPruneJob.class, () -> new DataPruneJob(pruner),
                    ReplicateJob.class, () -> new ReplicateJob(replicator),
                    dev.backstop.schedule.RepositoryCheckJob.class, () -> new dev.backstop.schedule.RepositoryCheckJob(repositoryCheck));
            for (SourceFactory source : config.sources()) {
                source.daemon(sourceEnvironments.get(source.name())).ifPresent(daemons::add);
            }
            scheduler = BackstopScheduler.create(schedulerConfig, catalog, config.jobSpecs(), jobs, environment.metrics(), clock,
                    snapshots::abortRunning);
            probes.add(new SchedulerProbe(scheduler, environment.metrics()));
            for (String replica : replicator.replicaTargets()) {
                probes.add(new dev.backstop.health.ReplicaLagProbe(replica, catalog.copies(),
                        Duration.ofMillis(config.storage().replicationLagWarn().toMilliseconds())).register(environment.metrics()));
            }
        }
        HealthMonitor health = new HealthMonitor(probes, config.healthMonitor(), clock,
                environment.getObjectMapper(), environment.metrics(), version, threads);
        dev.backstop.metrics.AlertedSeries.register(config.sources(), config.jobSpecs(), config.scheduler().timeZone(), config.disk(),
                environment.metrics());
        PrometheusRegistry prometheus = new PrometheusRegistry();
        JvmMetrics.builder().register(prometheus);
        prometheus.register(new DropwizardCollector(environment.metrics()));
        ServiceGraph graph = new ServiceGraph(config, clock, version, clock.instant(), node, catalog, tokens,
                java.util.Collections.unmodifiableMap(new LinkedHashMap<>(targets)), // in configuration order: the first is the primary
                snapshots, restores, retention, verification, pruner, replicator, diskPressure,
                new CatalogRebuilder(targets, catalog.snapshots(), catalog.copies(), environment.getObjectMapper(), repositories,
                        bindings.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
                                e -> e.getValue().target().name()))), sweeper,
                health, prometheus, scheduler, threads, windows, repositoryCheck);
        graph.manage(environment.lifecycle());
        // Registered last, so stopped first: a WAL archive stores its last partial segment while the targets are open.
        daemons.forEach(environment.lifecycle()::manage);
        return graph;
    }

    /**
     * Hands every service to the lifecycle, in the order they stop in reverse: the catalog lease
     * last (only when nothing uses the catalog), then the targets, the services, and the scheduler
     * first (no job starts once shutdown has begun). The executors were registered as they were
     * built, before their services, so each stops after the service that uses it. A CLI graph is
     * never started; its {@link #close()} ends what it opened.
     */
    private void manage(io.dropwizard.lifecycle.setup.LifecycleEnvironment lifecycle) {
        lifecycle.manage(new io.dropwizard.lifecycle.Managed() {
            @Override
            public void stop() {
                if (catalog.lease() != null) {
                    catalog.lease().close();
                }
            }
        });
        targets.values().forEach(target -> lifecycle.manage(new io.dropwizard.lifecycle.Managed() {
            @Override
            public void stop() {
                target.close();
            }
        }));
        lifecycle.manage(snapshots);
        lifecycle.manage(restores);
        lifecycle.manage(sweeper);
        lifecycle.manage(health);
        lifecycle.manage(diskPressure);
        lifecycle.manage(replicator);
        if (scheduler != null) {
            lifecycle.manage(scheduler);
        }
    }

    /**
     * The configured storage targets, each built the one way ({@link StorageTargetFactory#open}) behind
     * its guard {@code storage:<name>}, which knows the type's own failures. {@code check} builds them
     * so too.
     */
    public static Map<String, StorageTarget> targets(BackstopConfiguration config, Resilience resilience, ThreadPools threads) {
        Map<String, StorageTarget> targets = new LinkedHashMap<>();
        for (StorageTargetFactory factory : config.storage().targets()) {
            Guard guard = resilience.guard("storage:" + factory.name(), factory.failures());
            targets.put(factory.name(), factory.open(new dev.backstop.storage.StorageEnvironment(guard, threads)));
        }
        return targets;
    }

    private static Catalog openCatalog(DataSourceFactory factory, Environment environment, Guard connections,
            SchedulerConfig scheduler, ThreadPools threads) throws Exception {
        String type = Catalog.typeOf(factory);
        // Before anything is read or migrated: is another node using this catalog?
        CatalogLease lease = "postgresql".equals(type)
                ? CatalogLease.acquire(factory, scheduler.instanceId(), scheduler.clustered(), threads) : null;
        ManagedDataSource dataSource = factory.build(environment.metrics(), "catalog");
        int applied;
        try {
            applied = Catalog.migrate(dataSource);
        } catch (Exception e) {
            dataSource.stop();
            if (lease != null) {
                lease.close();
            }
            throw new IllegalStateException("Cannot open the catalog database at catalog.url (" + factory.getUrl()
                    + "): " + dev.backstop.model.Failures.rootMessage(e), e);
        }
        LOG.info("Catalog ({}) ready; {} migration changesets applied", type, applied);
        // Statements go through the guarded pool (connection retries and breaker); Quartz and the
        // health probe use the pool directly, so health shows the truth at once.
        Jdbi jdbi = new JdbiFactory().build(environment, factory, new dev.backstop.resilience.GuardedDataSource(dataSource, connections),
                "catalog");
        if ("h2".equals(type)) {
            // H2 otherwise writes committed transactions to its file up to 500 ms later: a process
            // killed in that window would lose catalog rows that callers were already told about.
            jdbi.useHandle(h -> h.execute("SET WRITE_DELAY 0"));
        }
        // JdbiFactory adds a health check that queries the database on the request thread; ours is cached.
        environment.healthChecks().unregister("catalog");
        return new Catalog(jdbi, dataSource, type, lease);
    }

    private static List<HealthProbe> probes(BackstopConfiguration config, Catalog catalog, Map<String, StorageTarget> targets,
            Map<String, SnapshotService.Binding> bindings, PointInTimeWindows windows) {
        java.time.Duration timeout = java.time.Duration.ofMillis(config.healthMonitor().timeout().toMilliseconds());
        List<HealthProbe> probes = new ArrayList<>(List.of(
                new DeadlockProbe(),
                new CatalogProbe(catalog.dataSource(), config.catalog().getValidationQuery().orElse("SELECT 1"), timeout),
                new DiskSpaceProbe(config.disk())));
        // Readiness: every target a source writes its snapshots to (a source without `target` writes
        // to the first); a target that only holds replicas shows in the detailed view.
        java.util.Set<String> written = new java.util.HashSet<>();
        String first = targets.isEmpty() ? null : targets.keySet().iterator().next();
        for (SourceFactory source : config.sources()) {
            written.add(source.target() == null ? first : source.target());
        }
        if (config.sources().isEmpty()) {
            written.add(first);
        }
        for (StorageTarget target : targets.values()) {
            probes.add(new StorageProbe(target, written.contains(target.name())));
        }
        bindings.values().forEach(binding -> probes.add(new SourceProbe(binding.source(), windows)));
        probes.add(new RestoreProbe(catalog.restores()));
        for (SourceFactory source : config.sources()) {
            if (source.verify() != null) {
                probes.add(new dev.backstop.health.VerificationProbe(source.name(), catalog.snapshots(),
                        Duration.ofMillis(source.verify().maxAge().toMilliseconds())));
            }
        }
        return probes;
    }

    private static List<ApiToken> tokens(BackstopConfiguration config) throws IOException {
        if (!config.auth().tokens().isEmpty()) {
            GeneratedToken.removeStale(config.auth().generatedTokenFile());
            return config.auth().tokens();
        }
        return List.of(GeneratedToken.loadOrCreate(config.auth().generatedTokenFile()));
    }

    /** Removes what a crash left in the staging directory (server start only: a CLI may run beside it). */
    public void cleanStaging() throws IOException {
        Path staging = config.snapshots().stagingPath();
        if (!Files.isDirectory(staging)) {
            return;
        }
        try (Stream<Path> leftovers = Files.list(staging)) {
            for (Path leftover : leftovers.toList()) {
                if (Files.isRegularFile(leftover)) {
                    Files.deleteIfExists(leftover);
                    LOG.info("Removed staging leftover {}", leftover);
                } else if (leftover.getFileName().toString().startsWith("backstop_verify_")) {
                    dev.backstop.source.FileTrees.delete(leftover);
                    LOG.info("Removed verification scratch leftover {}", leftover);
                }
            }
        }
    }

    /** For CLI commands: releases what the graph opened (the server's lifecycle does this for it). */
    @Override
    public void close() throws Exception {
        try {
            replicator.stop(); // copies a CLI snapshot started get their chance to finish
        } finally {
            threads.close();
            targets.values().forEach(StorageTarget::close);
            catalog.close();
        }
    }

    private static Map<String, String> sourceFormats(BackstopConfiguration config) {
        Map<String, String> formats = new LinkedHashMap<>();
        config.sources().stream().filter(source -> source.format() != null).forEach(source -> formats.put(source.name(), source.format()));
        return formats;
    }

    static String versionOf(Class<?> type) {
        String version = type.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
