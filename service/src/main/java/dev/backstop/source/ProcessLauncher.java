package dev.backstop.source;

import java.io.IOException;

/**
 * Starts a process that {@link SourceProcesses} built (command, environment, redirects): the one
 * place where a source's tools are started. {@link #SYSTEM} starts it; a test may pass its own to
 * see what the service runs, or to make a start fail.
 */
@FunctionalInterface
public interface ProcessLauncher {
    ProcessLauncher SYSTEM = ProcessBuilder::start;

    Process start(ProcessBuilder builder) throws IOException;
}
