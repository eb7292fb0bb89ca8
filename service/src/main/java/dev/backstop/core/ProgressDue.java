package dev.backstop.core;

/**
 * When a running snapshot's or restore's progress goes to the catalog: after another {@code step}
 * bytes and at most once a second (each is a catalog write; a fast run would otherwise write a row
 * every step: ~100 a GB). Gauges are updated on every read regardless; this only thins the rows.
 */
final class ProgressDue {
    private static final long EVERY_NANOS = 1_000_000_000L;

    private final long step;
    private long nextBytes;
    private long nextNanos = System.nanoTime();

    ProgressDue(long step) {
        this.step = step;
        this.nextBytes = step;
    }

    /** Whether progress at {@code bytes} is due now; if so, the next is another step and a second away. */
    synchronized boolean at(long bytes) {
        long now = System.nanoTime();
        if (bytes < nextBytes || now - nextNanos < 0) {
            return false;
        }
        nextBytes = bytes + step;
        nextNanos = now + EVERY_NANOS;
        return true;
    }
}
