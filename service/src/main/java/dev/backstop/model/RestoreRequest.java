package dev.backstop.model;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.util.Map;

/**
 * {@code POST /api/v1/restores}.
 *
 * @param snapshotId a COMPLETED snapshot
 * @param target     where to restore: {@code {"path": ...}} for directory sources,
 *                   {@code {"database": ...}} for postgres sources
 * @param mode       {@code new} (beside the live data; the target must not exist) or {@code replace}
 *                   (swap the live data; needs the admin role)
 * @param dryRun     download and verify only, then report what would be changed
 * @param force      postgres replace: terminate the live database's connections instead of refusing
 * @param dropReplaced postgres replace: drop the replaced database after the swap (default: keep it renamed)
 */
public record RestoreRequest(
        @NotBlank String snapshotId,
        @NotNull Map<String, String> target,
        @NotNull @Pattern(regexp = "new|replace", message = "must be new or replace") String mode,
        boolean dryRun,
        boolean force,
        boolean dropReplaced) {}
