package dev.backstop.storage;

import dev.backstop.resilience.Guard;
import dev.backstop.resilience.ThreadPools;

/**
 * What a storage target is built with: the resilience guard of its component
 * ({@code storage:<name>}, built with the type's {@link StorageTargetFactory#failures()}) and the
 * service's managed thread pools.
 *
 * @param guard   null for a target built without one (tools and tests)
 * @param threads where the target's long-lived executors come from
 */
public record StorageEnvironment(Guard guard, ThreadPools threads) {

    /** No guard and pools of the target's own, which its close() ends: for tools and tests. */
    public static StorageEnvironment standalone() {
        return new StorageEnvironment(null, ThreadPools.standalone());
    }
}
