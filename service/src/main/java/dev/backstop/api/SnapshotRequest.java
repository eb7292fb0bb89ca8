package dev.backstop.api;

import jakarta.validation.constraints.NotBlank;

/** {@code POST /api/v1/snapshots}. @param source name of a configured source */
public record SnapshotRequest(@NotBlank @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = dev.backstop.model.StrictString.class) String source) {}
