package dev.backstop.source.pgcluster;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The WAL archiver's view of the server: its current WAL position, how far the slot says the
 * receiver has flushed, and the server's max_slot_wal_keep_size, sampled on one replication
 * connection (kept open between samples, reopened after a failure) and published as the last
 * sample. Samples are taken by the upload pass (under its lock) and, between passes, by the
 * archiver's sampler; the connection is used by one at a time, the last sample is read from any thread.
 */
final class ServerPositions {
    /** The server's current WAL position and what the slot says the receiver has flushed. */
    record Positions(long current, long flushed, String slotState) {}

    /** How often max_slot_wal_keep_size is read again. */
    private static final Duration LIMIT_EVERY = Duration.ofSeconds(10);

    private final ClusterSourceFactory config;
    private final Clock clock;
    /** Held while the connection is used: by the upload pass, or by the sampler when the pass is not sampling. */
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    private Connection replication;
    private volatile Positions lastPositions;
    /** The server's max_slot_wal_keep_size in bytes: -1 unlimited, -2 not read yet. */
    private volatile long keepLimitBytes = -2;
    private volatile Instant keepLimitReadAt = Instant.EPOCH;
    private volatile Instant sampledAt = Instant.EPOCH;

    ServerPositions(ClusterSourceFactory config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    /**
     * Samples unless one was taken within {@code age}: while an upload pass waits on storage (an
     * outage, its retries), the lag and the slot's figures still follow the server.
     */
    void sampleIfOlderThan(Duration age) {
        if (clock.instant().isAfter(sampledAt.plus(age)) && lock.tryLock()) { // never makes the upload pass wait
            try {
                sample(0);
            } finally {
                lock.unlock();
            }
        }
    }

    /** The cluster's system id, WAL segment size and major version, asked on a connection of its own. */
    static WalArchive.ClusterIdentity identify(ClusterSourceFactory config) throws Exception {
        try (Connection c = BaseBackupSource.replicationConnection(config); Statement s = c.createStatement()) {
            String systemId;
            try (ResultSet r = s.executeQuery("IDENTIFY_SYSTEM")) {
                r.next();
                systemId = r.getString(1);
            }
            long size;
            try (ResultSet r = s.executeQuery("SHOW wal_segment_size")) {
                r.next();
                size = memoryBytes(r.getString(1));
            }
            return new WalArchive.ClusterIdentity(systemId, size, c.getMetaData().getDatabaseMajorVersion());
        }
    }

    /** The last sample taken; null before the first. */
    Positions last() {
        return lastPositions;
    }

    /** max_slot_wal_keep_size in bytes: -1 unlimited, -2 not read yet. */
    long keepLimitBytes() {
        return keepLimitBytes;
    }

    /**
     * Asks the server over a replication connection (IDENTIFY_SYSTEM, READ_REPLICATION_SLOT, and
     * max_slot_wal_keep_size every {@link #LIMIT_EVERY}); null when it cannot be reached. Waits
     * {@code pauseMillis} between the two (a receiver that keeps up has flushed this far by then).
     */
    Positions sample(long pauseMillis) {
        lock.lock();
        try {
            return sampleLocked(pauseMillis);
        } finally {
            lock.unlock();
        }
    }

    private Positions sampleLocked(long pauseMillis) {
        try {
            if (replication == null || replication.isClosed()) {
                replication = BaseBackupSource.replicationConnection(config);
            }
        } catch (Exception e) {
            replication = null;
            return null;
        }
        try (Statement st = replication.createStatement()) {
            long current;
            try (ResultSet r = st.executeQuery("IDENTIFY_SYSTEM")) {
                r.next();
                current = Wal.lsn(r.getString(3));
            }
            if (pauseMillis > 0) {
                Thread.sleep(pauseMillis); // a receiver that keeps up has flushed this far by then
            }
            long flushed = -1;
            String state = "missing";
            try (ResultSet r = st.executeQuery("READ_REPLICATION_SLOT " + config.slot())) {
                if (r.next() && r.getString(1) != null) {
                    state = "physical";
                    String restart = r.getString(2);
                    flushed = restart == null ? -1 : Wal.lsn(restart);
                }
            }
            Instant now = clock.instant();
            if (!now.isBefore(keepLimitReadAt.plus(LIMIT_EVERY))) {
                try (ResultSet r = st.executeQuery("SHOW max_slot_wal_keep_size")) {
                    r.next();
                    keepLimitBytes = memoryBytes(r.getString(1));
                    keepLimitReadAt = now;
                }
            }
            Positions p = new Positions(current, flushed, state);
            lastPositions = p;
            sampledAt = now;
            return p;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            closeLocked();
            return null;
        }
    }

    /** The archiver is stopping: no connection outlives it. Returns null, as a sample that could not be taken. */
    Positions closed() {
        close();
        return null;
    }

    /** Closes the replication connection (reopened by the next sample). */
    void close() {
        lock.lock();
        try {
            closeLocked();
        } finally {
            lock.unlock();
        }
    }

    private void closeLocked() {
        Connection c = replication;
        replication = null;
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already broken
            }
        }
    }

    /**
     * A memory setting as SHOW prints it ({@code -1}, {@code 512kB}, {@code 1024MB}, {@code 50GB},
     * {@code 2TB}; a bare number is in MB, the unit of max_slot_wal_keep_size), in bytes; -1 stays -1.
     */
    static long memoryBytes(String shown) {
        String value = shown.strip();
        if (value.equals("-1")) {
            return -1;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*(kB|MB|GB|TB)?").matcher(value);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a memory setting: " + shown);
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "MB" : m.group(2);
        return switch (unit) {
            case "kB" -> n << 10;
            case "MB" -> n << 20;
            case "GB" -> n << 30;
            default -> n << 40;
        };
    }

    /**
     * How much more WAL the server may write before it invalidates the slot (max_slot_wal_keep_size
     * minus what the slot retains, as pg_replication_slots.safe_wal_size, to within a segment);
     * -1 when the server sets no limit or it is not known yet.
     */
    long slotSafeWalBytes() {
        long limit = keepLimitBytes;
        long retained = slotRetainedBytes();
        return limit < 0 || retained < 0 ? -1 : Math.max(0, limit - retained);
    }

    /** Bytes of WAL the slot keeps on the server; -1 when unknown. */
    long slotRetainedBytes() {
        Positions p = lastPositions;
        return p == null || p.flushed() < 0 ? -1 : Math.max(0, p.current() - p.flushed());
    }
}
