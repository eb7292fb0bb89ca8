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

    /** The bare target of this type, using {@code environment}'s threads (and, where it retries inside, its guard). */
    StorageTarget build(StorageEnvironment environment);

    /**
     * The one way the service builds a target: the bare one behind its guard ({@link ResilientTarget}),
     * so every call gets the component's timeout, retries and circuit breaker.
     */
    default StorageTarget open(StorageEnvironment environment) {
        StorageTarget target = build(environment);
        return environment.guard() == null ? target : new ResilientTarget(target, environment.guard());
    }

    /** Unguarded, with pools of its own: for tools and tests. */
    default StorageTarget build() {
        return build(StorageEnvironment.standalone());
    }

    /** What this type knows about its own failures, for the retry and breaker policies of its guard. */
    default dev.backstop.resilience.FailureClassifier failures() {
        return dev.backstop.resilience.FailureClassifier.GENERIC;
    }
}
