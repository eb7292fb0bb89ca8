package dev.backstop.source.pgcluster;

import java.time.Instant;

/**
 * What the WAL archiver knows at one instant, read once from its fields.
 *
 * @param streaming        pg_receivewal streams the slot (and has held it past the takeover grace)
 * @param receiverUp       pg_receivewal runs
 * @param standingBySince  since when another client streams the slot (null: none)
 * @param downSince        since when the receiver is not streaming (null: it is)
 * @param status           the archive's reach (null before it is read)
 * @param positions        the server's positions last sampled (null before the first sample)
 * @param archivedLsn      how far the archive reaches on the server's timeline (-1 unknown)
 * @param lagBytes         WAL written by the server and not yet stored (-1 unknown)
 * @param slotRetainedBytes WAL the slot keeps on the server (-1 unknown)
 * @param keepLimitBytes   the server's max_slot_wal_keep_size (-1 none, -2 not read yet)
 * @param slotSafeWalBytes what the server may still write before it invalidates the slot (-1 unknown)
 */
record ArchiverView(boolean streaming, boolean receiverUp, Instant standingBySince, Instant downSince, String lastError,
        long spoolBytes, WalArchive.Status status, ServerPositions.Positions positions, long archivedLsn, long lagBytes,
        long slotRetainedBytes, long keepLimitBytes, long slotSafeWalBytes) {}
