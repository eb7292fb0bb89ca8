package dev.backstop.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.NotEmpty;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code disk:} free space watched on the file systems that hold the given paths.
 *
 * @param paths               directories to watch (the catalog, staging and filesystem targets live here)
 * @param warnFreePercent     below this much free space, health warns
 * @param criticalFreePercent below this much free space, health fails and readiness drops
 */
public record DiskConfig(
        @NotEmpty List<Path> paths,
        @DecimalMin("0") @DecimalMax("100") double warnFreePercent,
        @DecimalMin("0") @DecimalMax("100") double criticalFreePercent) {

    @JsonCreator
    public DiskConfig(@JsonProperty("paths") List<Path> paths,
            @JsonProperty("warnFreePercent") Double warnFreePercent,
            @JsonProperty("criticalFreePercent") Double criticalFreePercent) {
        this(paths == null ? List.of(Path.of("./var")) : List.copyOf(paths),
                warnFreePercent == null ? 10.0 : warnFreePercent,
                criticalFreePercent == null ? 5.0 : criticalFreePercent);
    }

    public static DiskConfig defaults() {
        return new DiskConfig(null, null, null);
    }

    @JsonIgnore
    @ValidationMethod(message = "disk.criticalFreePercent must be lower than disk.warnFreePercent")
    public boolean isCriticalBelowWarn() {
        return criticalFreePercent < warnFreePercent;
    }
}
