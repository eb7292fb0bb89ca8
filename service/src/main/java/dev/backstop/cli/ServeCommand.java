package dev.backstop.cli;

import dev.backstop.BackstopConfiguration;
import io.dropwizard.core.Application;
import io.dropwizard.core.cli.Cli;
import io.dropwizard.core.cli.ServerCommand;
import net.sourceforge.argparse4j.inf.Namespace;

/**
 * {@code server config.yml}: Dropwizard's server command, except that a start that fails (a
 * config file that does not exist or does not parse, a key that cannot be read) says why in one
 * line on stderr, as every other command does, instead of a stack trace; systemd's journal then
 * shows the reason as the unit's last line.
 */
public final class ServeCommand extends ServerCommand<BackstopConfiguration> {
    public ServeCommand(Application<BackstopConfiguration> application) {
        super(application);
    }

    @Override
    protected void run(io.dropwizard.core.setup.Environment environment, Namespace namespace, BackstopConfiguration configuration)
            throws Exception {
        BackstopCommand.requireConfigFile(getName(), namespace);
        super.run(environment, namespace, configuration);
    }

    @Override
    public void onError(Cli cli, Namespace namespace, Throwable e) {
        cli.getStdErr().println("backstop server: " + BackstopCommand.oneLine(e));
        cli.getStdErr().flush();
    }
}
