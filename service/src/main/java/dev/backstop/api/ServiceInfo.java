package dev.backstop.api;

import java.time.Instant;

/**
 * {@code GET /api/v1/info}.
 *
 * @param version       release of the running service
 * @param startedAt     when this process started
 * @param uptimeSeconds seconds since then
 * @param catalogType   {@code h2} or {@code postgresql}
 */
public record ServiceInfo(String name, String version, Instant startedAt, long uptimeSeconds, String catalogType) {}
