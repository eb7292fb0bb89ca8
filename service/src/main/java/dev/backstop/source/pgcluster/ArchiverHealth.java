package dev.backstop.source.pgcluster;

import dev.backstop.source.SourceCondition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the WAL archiver's state means for an operator, as a pure function of an
 * {@link ArchiverView}, the source's settings and the time: the API's state map and the health
 * conditions. No I/O, no clock: unit-tested with views made by hand.
 */
final class ArchiverHealth {
    private ArchiverHealth() {}

    /** The receiver's state and the archive's reach, for the API. */
    static ArchiveState state(ArchiverView v, String slot) {
        WalArchive.Status s = v.status();
        ServerPositions.Positions p = v.positions();
        long limit = v.keepLimitBytes();
        return new ArchiveState(v.streaming() ? "streaming" : v.standingBySince() != null ? "standby" : "down", slot, v.spoolBytes(),
                s == null ? null : s.lastSegment(), s == null ? null : s.coveredUntil(), p == null ? null : Wal.lsn(p.current()),
                v.archivedLsn() < 0 ? null : Wal.lsn(v.archivedLsn()), v.lagBytes(), p == null ? "unknown" : p.slotState(),
                v.slotRetainedBytes(), limit == -2 ? null : limit, limit < 0 ? null : v.slotSafeWalBytes(),
                s == null ? List.of() : s.gaps(), v.lastError());
    }

    /**
     * For {@code /health/detailed}, from memory: {@code walReceiver} (WARN while it is restarted,
     * FAIL once it has been down for a minute, or three times partialUploadEvery if longer),
     * {@code walArchiveLag} (WARN above walLagWarn), {@code recoverableUntilAge} (how old the newest
     * recoverable point is: WARN beyond twice partialUploadEvery + 30 s, FAIL beyond
     * max(5 min, 10 x partialUploadEvery); no window yet is a WARN), {@code replicationSlot}
     * ({@link #slotCondition}).
     */
    static List<SourceCondition> conditions(ArchiverView v, ClusterSourceFactory config, Instant now) {
        List<SourceCondition> conditions = new ArrayList<>();
        Duration every = config.partialUploadEvery();
        Instant down = v.downSince();
        Instant standby = v.standingBySince();
        String lastError = v.lastError();
        if (standby != null && !v.streaming()) {
            conditions.add(new SourceCondition("walReceiver", SourceCondition.Level.PASS, null,
                    null, "standing by since " + standby + ": slot " + config.slot() + " is streamed by another client (another node "
                            + "of this cluster; if not, see pg_stat_replication on the server); this node takes over when it is free"));
        } else if (v.receiverUp() || down == null) {
            conditions.add(SourceCondition.pass("walReceiver", "streaming", null));
        } else {
            Duration grace = max(Duration.ofMinutes(1), every.multipliedBy(3));
            long seconds = Duration.between(down, now).toSeconds();
            conditions.add(new SourceCondition("walReceiver",
                    Duration.between(down, now).compareTo(grace) >= 0 ? SourceCondition.Level.FAIL
                            : SourceCondition.Level.WARN, seconds, "s",
                    "pg_receivewal is not streaming (for " + seconds + " s): " + (lastError == null ? "starting" : lastError)));
        }
        long lag = v.lagBytes();
        conditions.add(lag > config.walLagWarnBytes()
                ? new SourceCondition("walArchiveLag", SourceCondition.Level.WARN, lag, "bytes",
                        lag + " bytes of WAL are not in storage yet (walLagWarn " + config.walLagWarnBytes() + "); see spoolBytes and "
                                + "lastError in GET /api/v1/sources/" + config.name() + "/pitr")
                : SourceCondition.pass("walArchiveLag", lag, "bytes"));
        conditions.add(slotCondition(v, config));
        WalArchive.Status s = v.status();
        Instant covered = s == null ? null : s.coveredUntil();
        if (covered == null) {
            conditions.add(new SourceCondition("recoverableUntilAge", SourceCondition.Level.WARN,
                    null, "s", "no WAL is archived yet"));
        } else {
            Duration age = Duration.between(covered, now);
            SourceCondition.Level level = age.compareTo(max(Duration.ofMinutes(5), every.multipliedBy(10))) > 0
                    ? SourceCondition.Level.FAIL
                    : age.compareTo(every.multipliedBy(2).plusSeconds(30)) > 0 ? SourceCondition.Level.WARN
                    : SourceCondition.Level.PASS;
            conditions.add(new SourceCondition("recoverableUntilAge", level, Math.max(0, age.toSeconds()), "s",
                    "the newest recoverable point is " + age.toSeconds() + " s old (" + covered + "): commits since then are not "
                            + "in storage yet" + (lastError == null ? "" : "; last error: " + lastError)));
        }
        return conditions;
    }

    /**
     * {@code replicationSlot}: WARN once the slot retains more than 80% of the server's
     * max_slot_wal_keep_size (PostgreSQL invalidates it at 100%, and the WAL Backstop has not
     * received is then lost); PASS without a limit (the server's disk is the limit then: see
     * slotRetainedBytes) or while unknown.
     */
    private static SourceCondition slotCondition(ArchiverView v, ClusterSourceFactory config) {
        long limit = v.keepLimitBytes();
        long safe = v.slotSafeWalBytes();
        if (limit <= 0 || safe < 0) {
            return SourceCondition.pass("replicationSlot", v.slotRetainedBytes() < 0 ? null : v.slotRetainedBytes(),
                    "bytes");
        }
        long retained = v.slotRetainedBytes();
        if (safe < limit / 5) {
            return new SourceCondition("replicationSlot", SourceCondition.Level.WARN, safe,
                    "bytes", "slot " + config.slot() + " retains " + retained + " bytes of WAL, " + safe + " bytes short of the server's "
                            + "max_slot_wal_keep_size (" + limit + "): when it is reached PostgreSQL invalidates the slot and the WAL "
                            + "not yet received is lost from the archive; see lastError in GET /api/v1/sources/" + config.name() + "/pitr");
        }
        return SourceCondition.pass("replicationSlot", safe, "bytes");
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
