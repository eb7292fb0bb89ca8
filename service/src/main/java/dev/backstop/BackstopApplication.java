package dev.backstop;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.backstop.auth.ApiPrincipal;
import dev.backstop.auth.ProblemUnauthorizedHandler;
import dev.backstop.auth.RoleAuthorizer;
import dev.backstop.auth.TokenAuthenticator;
import dev.backstop.cli.CheckCommand;
import dev.backstop.cli.RebuildCatalogCommand;
import dev.backstop.cli.RestoreCommand;
import dev.backstop.cli.SnapshotCommand;
import dev.backstop.health.DropwizardHealthCheck;
import dev.backstop.health.HealthEndpoint;
import dev.backstop.health.HealthProbe;
import dev.backstop.health.HealthServlet;
import dev.backstop.resources.ApplicationRequestLog;
import dev.backstop.resources.InfoResource;
import dev.backstop.resources.JobsResource;
import dev.backstop.resources.RequestBodyLimit;
import dev.backstop.resources.RequestIds;
import dev.backstop.resources.RestoresResource;
import dev.backstop.resources.RetentionResource;
import dev.backstop.resources.SnapshotsResource;
import dev.backstop.resources.SourcesResource;
import dev.backstop.resources.TokenRateLimit;
import dev.backstop.resources.errors.BackstopExceptionMapper;
import dev.backstop.resources.errors.CatalogUnavailableMapper;
import dev.backstop.resources.errors.JsonProcessingExceptionMapper;
import dev.backstop.resources.errors.ProblemErrorHandler;
import dev.backstop.resources.errors.UnexpectedExceptionMapper;
import dev.backstop.resources.errors.ValidationExceptionMapper;
import dev.backstop.resources.errors.WebApplicationExceptionMapper;
import dev.backstop.schedule.BackstopScheduler;
import dev.backstop.systemd.SystemdIntegration;
import dev.backstop.systemd.SystemdNotifier;
import dev.backstop.tasks.JobTaskServlet;
import dev.backstop.tasks.RebuildCatalogTask;
import io.dropwizard.auth.AuthDynamicFeature;
import io.dropwizard.auth.AuthValueFactoryProvider;
import io.dropwizard.auth.oauth.OAuthCredentialAuthFilter;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.Application;
import io.dropwizard.core.server.AbstractServerFactory;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.core.server.ServerFactory;
import io.dropwizard.core.server.SimpleServerFactory;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.jetty.ConnectorFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.migrations.MigrationsBundle;
import io.prometheus.metrics.exporter.servlet.jakarta.PrometheusMetricsServlet;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.glassfish.jersey.server.filter.RolesAllowedDynamicFeature;

/** Backstop: snapshots, restores and health for the data an application holds. */
public class BackstopApplication extends Application<BackstopConfiguration> {
    /** Where connectors listen when the configuration does not say. */
    static final String DEFAULT_BIND_HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        new BackstopApplication().run(args);
    }

    @Override
    public String getName() {
        return "backstop";
    }

    /** Dropwizard's server command, and our {@code check} in place of its config-only one. */
    @Override
    protected void addDefaultCommands(Bootstrap<BackstopConfiguration> bootstrap) {
        bootstrap.addCommand(new dev.backstop.cli.ServeCommand(this));
        bootstrap.addCommand(new CheckCommand());
    }

    @Override
    public void initialize(Bootstrap<BackstopConfiguration> bootstrap) {
        // Times on the wire are ISO-8601 strings, not epoch numbers.
        bootstrap.getObjectMapper().disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        // A request field we do not know is an error, not a silent default (Dropwizard ignores them).
        bootstrap.getObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        // ${VAR} and ${VAR:-default} in config.yml; an unset variable without a default stops startup.
        bootstrap.setConfigurationSourceProvider(new SubstitutingSourceProvider(
                bootstrap.getConfigurationSourceProvider(), new ConfigSubstitutor()));
        bootstrap.addCommand(new SnapshotCommand());
        bootstrap.addCommand(new RestoreCommand());
        bootstrap.addCommand(new RebuildCatalogCommand());
        bootstrap.addCommand(new dev.backstop.cli.SnapshotsCommand());
        bootstrap.addBundle(new MigrationsBundle<>() {
            @Override
            public DataSourceFactory getDataSourceFactory(BackstopConfiguration configuration) {
                return configuration.catalog();
            }
        });
    }

    @Override
    public void run(BackstopConfiguration config, Environment environment) throws Exception {
        secureServerDefaults(config.getServerFactory());
        ServiceGraph graph = ServiceGraph.createServer(config, environment, Clock.systemUTC());
        graph.cleanStaging();
        // ServiceGraph handed its services to the lifecycle; systemd is told once the server is up.
        BackstopScheduler scheduler = graph.scheduler();
        SystemdNotifier.fromEnvironment().ifPresent(notifier -> {
            SystemdIntegration systemd = new SystemdIntegration(notifier, graph.health(), graph.threads());
            environment.lifecycle().addServerLifecycleListener(systemd);
            environment.lifecycle().manage(systemd);
        });
        registerAdmin(environment, graph);
        environment.admin().addServlet("job-task", new JobTaskServlet(scheduler)).addMapping(JobTaskServlet.PATH);
        registerApi(environment, graph);
        environment.jersey().register(new JobsResource(scheduler));
        // Errors Jetty answers before Jersey are problem+json too, on the application port and server-wide.
        // Set as the server starts: Dropwizard installs its own error handlers while building the server.
        environment.lifecycle().addEventListener(new org.eclipse.jetty.util.component.LifeCycle.Listener() {
            @Override
            public void lifeCycleStarting(org.eclipse.jetty.util.component.LifeCycle event) {
                if (event instanceof org.eclipse.jetty.server.Server server) {
                    server.setErrorHandler(new ProblemErrorHandler());
                    environment.getApplicationContext().setErrorHandler(new ProblemErrorHandler());
                }
            }
        });
    }

    private static void registerAdmin(Environment environment, ServiceGraph graph) {
        for (HealthEndpoint endpoint : HealthEndpoint.values()) {
            environment.admin().addServlet("health-" + endpoint.name().toLowerCase(), new HealthServlet(graph.health(), endpoint))
                    .addMapping(endpoint.path());
        }
        for (HealthProbe probe : graph.health().probes()) {
            environment.healthChecks().register(probe.name(), new DropwizardHealthCheck(graph.health(), probe));
        }
        environment.admin().addTask(new RebuildCatalogTask(graph.rebuilder()));
        environment.admin().addTask(new dev.backstop.tasks.RepositoryCheckTask(graph.repositoryCheck()));
        // "" is the servlet mapping of the context root alone: "/" itself, ahead of Dropwizard's menu at /*.
        java.time.Duration period = java.time.Duration.ofMillis(graph.config().healthMonitor().period().toMilliseconds());
        dev.backstop.repository.RepositoryUsage usage = new dev.backstop.repository.RepositoryUsage(graph.catalog().repository(),
                graph.clock(), period);
        dev.backstop.metrics.AlertedSeries.registerRepositories(graph.targets().keySet(), usage, environment.metrics());
        environment.admin().addServlet("status", new dev.backstop.health.StatusPage(graph.config().sources(), graph.targets(),
                graph.catalog().snapshots(), graph.catalog().restores(), graph.health(), graph.windows(), usage, graph.clock(),
                graph.config().scheduler().timeZone().getId(), graph.version(), period)).addMapping("");
        environment.admin().addServlet("prometheus", new PrometheusMetricsServlet(graph.prometheus()))
                .addMapping("/metrics/prometheus");
    }

    private static void registerApi(Environment environment, ServiceGraph graph) {
        var jersey = environment.jersey();
        jersey.register(new AuthDynamicFeature(new OAuthCredentialAuthFilter.Builder<ApiPrincipal>()
                .setAuthenticator(new TokenAuthenticator(graph.tokens()))
                .setAuthorizer(new RoleAuthorizer())
                .setPrefix("Bearer")
                .setRealm("backstop")
                .setUnauthorizedHandler(new ProblemUnauthorizedHandler())
                .buildAuthFilter()));
        jersey.register(RolesAllowedDynamicFeature.class);
        jersey.register(new AuthValueFactoryProvider.Binder<>(ApiPrincipal.class));
        jersey.register(new RequestIds());
        jersey.register(new RequestBodyLimit(graph.config().api().maxRequestBodySize().toBytes()));
        jersey.register(new TokenRateLimit(graph.config().api().rateLimit(),
                java.time.Duration.ofMillis(graph.config().api().rateLimitPeriod().toMilliseconds())));

        jersey.register(new BackstopExceptionMapper());
        jersey.register(new WebApplicationExceptionMapper());
        jersey.register(new JsonProcessingExceptionMapper());
        jersey.register(new ValidationExceptionMapper());
        jersey.register(new CatalogUnavailableMapper());
        jersey.register(new UnexpectedExceptionMapper());

        jersey.register(new InfoResource(graph.version(), graph.startedAt(), graph.catalog().type(), graph.clock()));
        jersey.register(new SourcesResource(graph.config().sources(), graph.windows()));
        jersey.register(new SnapshotsResource(graph.snapshots(), graph.catalog().snapshots()));
        jersey.register(new RestoresResource(graph.restores(), graph.catalog().restores()));
        jersey.register(new RetentionResource(graph.retention()));
    }

    /**
     * Both ports listen on 127.0.0.1 unless the configuration names a host, every error is
     * problem+json (Dropwizard's own exception mappers, with plain JSON bodies, are replaced by ours),
     * and the admin port stays out of the access log.
     */
    static void secureServerDefaults(ServerFactory serverFactory) {
        List<ConnectorFactory> connectors = new ArrayList<>();
        if (serverFactory instanceof DefaultServerFactory server) {
            connectors.addAll(server.getApplicationConnectors());
            connectors.addAll(server.getAdminConnectors());
        } else if (serverFactory instanceof SimpleServerFactory server) {
            connectors.add(server.getConnector());
        }
        for (ConnectorFactory connector : connectors) {
            if (connector instanceof HttpConnectorFactory http && http.getBindHost() == null) {
                http.setBindHost(DEFAULT_BIND_HOST);
            }
        }
        if (serverFactory instanceof AbstractServerFactory server) {
            server.setRegisterDefaultExceptionMappers(false);
            if (!(server.getRequestLogFactory() instanceof ApplicationRequestLog)) {
                server.setRequestLogFactory(new ApplicationRequestLog(server.getRequestLogFactory()));
            }
        }
    }
}
