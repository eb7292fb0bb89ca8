package dev.backstop.source.pgcluster;

import dev.backstop.source.ArchivedLog;
import java.time.Instant;
import java.util.List;

/**
 * The WAL archive's state as {@code GET /api/v1/sources/{name}/pitr} shows it under {@code archive}.
 *
 * @param receiver              streaming, standby or down (null: this process runs no archiver)
 * @param slot                  the replication slot streamed
 * @param spoolBytes            what the spool holds, not yet stored
 * @param lastSegment           the newest segment stored whole
 * @param coveredUntil          every commit before this instant is stored
 * @param currentLsn            the server's WAL position last sampled
 * @param archivedLsn           how far storage holds the server's WAL
 * @param lagBytes              WAL written and not yet stored (-1 unknown)
 * @param slotState             physical, missing or unknown
 * @param slotRetainedBytes     WAL the slot keeps on the server (-1 unknown)
 * @param slotWalKeepLimitBytes the server's max_slot_wal_keep_size (-1 none; null not read yet)
 * @param slotSafeWalBytes      what the server may still write before it invalidates the slot (null: no limit)
 * @param gaps                  stretches of WAL lost
 * @param lastError             the archiver's last error (null: none)
 */
public record ArchiveState(String receiver, String slot, Long spoolBytes, String lastSegment, Instant coveredUntil,
        String currentLsn, String archivedLsn, long lagBytes, String slotState, Long slotRetainedBytes, Long slotWalKeepLimitBytes,
        Long slotSafeWalBytes, List<WalArchive.Gap> gaps, String lastError) implements ArchivedLog.LogDetails {

    /** Where this process runs no archiver (a command, or before the service started it): what status.json says. */
    static ArchiveState notRunning(String slot, WalArchive.Status status, String lastError) {
        return new ArchiveState(null, slot, null, status == null ? null : status.lastSegment(),
                status == null ? null : status.coveredUntil(), null, null, -1, "unknown", null, null, null,
                status == null ? List.of() : status.gaps(), lastError);
    }
}
