package dev.backstop.source.pgcluster;

/**
 * How far the WAL archive reaches, as the segment uploader ({@link WalUploader}) publishes it: one
 * immutable value, replaced whole.
 *
 * @param status      what {@code status.json} says (null until the cluster is identified)
 * @param segmentSize the cluster's WAL segment size (0 until identified)
 * @param archivedLsn how far storage holds the server's WAL, as the slot confirmed it (-1 unknown)
 */
record ArchiveReach(WalArchive.Status status, long segmentSize, long archivedLsn) {
    static final ArchiveReach UNKNOWN = new ArchiveReach(null, 0, -1);

    ArchiveReach with(WalArchive.Status next) {
        return new ArchiveReach(next, segmentSize, archivedLsn);
    }

    ArchiveReach archivedTo(long lsn) {
        return new ArchiveReach(status, segmentSize, lsn);
    }
}
