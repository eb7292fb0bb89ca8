package dev.backstop.api;

/** One configured snapshot source, as listed by {@code GET /api/v1/sources}. */
public record SourceSummary(String name, String type, String target) {}
