package dev.backstop.support;

import dev.backstop.BackstopApplication;
import dev.backstop.BackstopConfiguration;
import io.dropwizard.core.setup.Environment;

/** The real application plus {@link ProbeResource}, which exercises roles and request bodies. */
public class TestBackstopApplication extends BackstopApplication {
    @Override
    public void run(BackstopConfiguration config, Environment environment) throws Exception {
        super.run(config, environment);
        environment.jersey().register(new ProbeResource());
    }
}
