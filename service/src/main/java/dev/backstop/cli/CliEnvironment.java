package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.core.setup.Environment;

/** The Dropwizard environment a CLI command builds the service graph in (no server runs). */
final class CliEnvironment {
    private CliEnvironment() {}

    static Environment of(Bootstrap<BackstopConfiguration> bootstrap, BackstopConfiguration config) {
        return new Environment(bootstrap.getApplication().getName(), bootstrap.getObjectMapper(),
                bootstrap.getValidatorFactory(), bootstrap.getMetricRegistry(), bootstrap.getClassLoader(),
                bootstrap.getHealthCheckRegistry(), config);
    }
}
