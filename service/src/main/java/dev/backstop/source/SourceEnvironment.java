package dev.backstop.source;

import java.nio.file.Path;

/**
 * What sources may use from the running service.
 *
 * @param stagingDirectory scratch space for sources that must copy before streaming (SQLite)
 */
public record SourceEnvironment(Path stagingDirectory) {}
