package dev.backstop.source;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The one place where the processes of a source are built (pg_dump, pg_restore, pg_basebackup,
 * pg_receivewal, psql, pg_ctl, pg_waldump, ...): each gets the source's connection environment
 * ({@code PGPASSWORD} / {@code PGPASSFILE} from its configuration) and nothing of the service's
 * own libpq variables, so no tool of a source can start without the password the others have.
 * Secrets go through the environment, never onto a command line that {@code ps} shows.
 */
public final class SourceProcesses {
    /** For tools that connect to nothing (pg_waldump, initdb, tar, id). */
    public static final SourceProcesses NONE = new SourceProcesses(Map.of());

    /** libpq variables of the service's own environment that would override or leak into a source's connection. */
    private static final List<String> INHERITED_LIBPQ = List.of("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE",
            "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS");

    private final Map<String, String> environment;
    private final ProcessLauncher launcher;

    public SourceProcesses(Map<String, String> environment) {
        this(environment, ProcessLauncher.SYSTEM);
    }

    public SourceProcesses(Map<String, String> environment, ProcessLauncher launcher) {
        this.environment = Map.copyOf(environment);
        this.launcher = launcher;
    }

    /** The same environment, its processes started by {@code launcher}. */
    public SourceProcesses withLauncher(ProcessLauncher launcher) {
        return new SourceProcesses(environment, launcher);
    }

    /** A PostgreSQL source's environment: its password and/or passfile, and Backstop's application name. */
    public static SourceProcesses postgres(String password, Path passfile) {
        Map<String, String> env = new HashMap<>();
        env.put("PGAPPNAME", "backstop");
        if (password != null) {
            env.put("PGPASSWORD", password);
        }
        if (passfile != null) {
            env.put("PGPASSFILE", passfile.toAbsolutePath().toString());
        }
        return new SourceProcesses(env);
    }

    /** Whether these processes carry a password (for messages; never the password itself). */
    public boolean hasPassword() {
        return environment.containsKey("PGPASSWORD") || environment.containsKey("PGPASSFILE");
    }

    /** Starts {@code command} with this source's environment; {@code setup} sets its redirects first. */
    public Process start(List<String> command, Consumer<ProcessBuilder> setup) throws IOException {
        ProcessBuilder builder = builder(command);
        setup.accept(builder);
        return launcher.start(builder);
    }

    /** Starts {@code command} with this source's environment, its output and errors as pipes. */
    public Process start(List<String> command) throws IOException {
        return start(command, builder -> { });
    }

    /** A builder for {@code command} with this source's environment and no inherited libpq connection variables. */
    private ProcessBuilder builder(List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        INHERITED_LIBPQ.forEach(env::remove);
        env.putAll(environment);
        return builder;
    }

    /** Runs a command to its end; returns stdout, throws with the tool's name and stderr when it fails. */
    public String run(List<String> command, int timeoutSeconds) throws IOException {
        Process process = start(command);
        StderrTail stderr = new StderrTail(process.getErrorStream(), command.get(0) + "-stderr");
        stderr.start();
        try {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(toolName(command) + " did not finish in " + timeoutSeconds + " s");
            }
            stderr.join(5_000);
            if (process.exitValue() != 0) {
                throw new IOException(toolName(command) + " exited with status " + process.exitValue() + ": " + stderr.text());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted while running " + toolName(command), e);
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /**
     * Runs a command to its end, handing each line of its stdout to {@code lines}, whatever its exit
     * status (pg_waldump ends with an error at the end of WAL). TZ is UTC, so tools print times in
     * UTC whatever the service's zone.
     */
    public void lines(List<String> command, int timeoutSeconds, Consumer<String> lines) throws IOException {
        Process process = start(command, builder -> {
            builder.redirectError(ProcessBuilder.Redirect.DISCARD);
            builder.environment().put("TZ", "UTC");
        });
        try {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    lines.accept(line);
                }
            }
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IOException(toolName(command) + " did not finish in " + timeoutSeconds + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + toolName(command), e);
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /** The program's file name, past a {@code runuser -u user --} prefix. */
    public static String toolName(List<String> command) {
        int at = command.get(0).equals("runuser") && command.size() > 4 ? 4 : 0;
        return Path.of(command.get(at)).getFileName().toString();
    }
}
