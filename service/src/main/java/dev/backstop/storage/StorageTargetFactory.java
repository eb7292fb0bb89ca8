package dev.backstop.storage;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dropwizard.jackson.Discoverable;

/**
 * A configured storage target ({@code storage.targets[]}, chosen by {@code type:}): {@code filesystem}
 * or {@code s3}. Registered in {@code META-INF/services/dev.backstop.storage.StorageTargetFactory}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public interface StorageTargetFactory extends Discoverable {

    /** Unique name that sources refer to. */
    String name();

    StorageTarget build();

    /** Builds the target with its resilience guard (S3 retries each part of an upload through it). */
    default StorageTarget build(dev.backstop.resilience.Guard guard) {
        return build();
    }
}
