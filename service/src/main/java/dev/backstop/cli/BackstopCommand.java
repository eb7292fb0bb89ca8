package dev.backstop.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import dev.backstop.BackstopConfiguration;
import io.dropwizard.configuration.ConfigurationException;
import io.dropwizard.core.cli.Cli;
import io.dropwizard.core.cli.ConfiguredCommand;
import io.dropwizard.core.setup.Bootstrap;
import java.util.Iterator;
import net.sourceforge.argparse4j.impl.Arguments;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;
import org.slf4j.LoggerFactory;

/**
 * What every Backstop CLI command shares: results on stdout (plain, or JSON with {@code --json}),
 * logs on stderr whatever the configuration's console appenders say, and a mistake reported as one
 * line on stderr with a non-zero exit, never a stack trace.
 */
abstract class BackstopCommand extends ConfiguredCommand<BackstopConfiguration> {

    protected BackstopCommand(String name, String description) {
        super(name, description);
    }

    @Override
    public void configure(Subparser subparser) {
        super.configure(subparser);
        subparser.addArgument("--json").action(Arguments.storeTrue()).help("print the result as JSON");
    }

    @Override
    protected final void run(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception {
        requireConfigFile(getName(), namespace);
        logsToStderr();
        execute(bootstrap, namespace, config);
    }

    protected abstract void execute(Bootstrap<BackstopConfiguration> bootstrap, Namespace namespace, BackstopConfiguration config)
            throws Exception;

    @Override
    public void onError(Cli cli, Namespace namespace, Throwable e) {
        cli.getStdErr().println("backstop " + getName() + ": " + oneLine(e));
    }

    /**
     * Dropwizard runs a command without its file on built-in defaults (no sources, an empty
     * catalog): for Backstop that answers wrongly ("0 manifests found", "unknown source"), so a
     * command that needs a configuration refuses to run without one.
     */
    static void requireConfigFile(String command, Namespace namespace) {
        if (namespace.getString("file") == null) {
            throw new IllegalArgumentException("no configuration file given: java -jar backstop.jar " + command
                    + " /etc/backstop/config.yml ...");
        }
    }

    /** The failure as a person would say it: the messages down the cause chain, on one line. */
    static String oneLine(Throwable e) {
        if (e instanceof ConfigurationException) {
            return e.getMessage().strip().replaceAll("\\s*\\n\\s*", " ");
        }
        StringBuilder line = new StringBuilder();
        for (Throwable t : dev.backstop.model.Failures.chain(e)) {
            if (t instanceof java.sql.SQLException sql && sql.getErrorCode() == 90020) {
                return "the server is running (it holds the H2 catalog, which allows one process): use the API instead, or "
                        + "stop the server first";
            }
            String message = dev.backstop.model.Failures.message(t).strip();
            message = message.lines().findFirst().orElse("");
            if (!message.isEmpty() && line.indexOf(message) < 0) {
                line.append(line.length() == 0 ? "" : ": ").append(message);
            }
        }
        return line.toString();
    }

    /** Console appenders write to stderr: stdout carries only the command's result. */
    static void logsToStderr() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        // The pool reports a catalog it cannot open with a stack trace; the command's one line says it better.
        context.getLogger("org.apache.tomcat.jdbc.pool").setLevel(ch.qos.logback.classic.Level.OFF);
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ch.qos.logback.classic.spi.ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            Appender<ch.qos.logback.classic.spi.ILoggingEvent> appender = it.next();
            redirect(appender);
            if (appender instanceof ch.qos.logback.core.spi.AppenderAttachable<?> attachable) {
                @SuppressWarnings("unchecked")
                var nested = (ch.qos.logback.core.spi.AppenderAttachable<ch.qos.logback.classic.spi.ILoggingEvent>) attachable;
                nested.iteratorForAppenders().forEachRemaining(BackstopCommand::redirect);
            }
        }
    }

    private static void redirect(Appender<ch.qos.logback.classic.spi.ILoggingEvent> appender) {
        if (appender instanceof ConsoleAppender<ch.qos.logback.classic.spi.ILoggingEvent> console
                && !"System.err".equals(console.getTarget())) {
            console.stop();
            console.setTarget("System.err");
            console.start();
        }
    }
}
