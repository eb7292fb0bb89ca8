package dev.backstop.source.pgcluster;

import dev.backstop.source.ArchivedLog.KeptSnapshot;
import dev.backstop.source.ArchivedLog.LogRange;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What retention deletes of a postgres-cluster source's WAL archive. */
final class WalRetention {
    private static final Logger LOG = LoggerFactory.getLogger(WalRetention.class);

    private WalRetention() {}

    /**
     * Keeps the WAL from the start of the oldest kept base backup that serves {@code pitrWindow}
     * (the newest one that finished at or before now - pitrWindow; the oldest kept one when none did)
     * and deletes the segments, partial segments and base-backup marks before it. The cut is
     * recorded in status.json before anything is deleted. Nothing is deleted when that base backup's
     * WAL position is unknown (taken by the {@code snapshot} command, without the archiver).
     */
    static List<LogRange> prune(WalArchive archive, ClusterSourceFactory config, List<KeptSnapshot> kept, Instant now, boolean dryRun)
            throws IOException {
        Instant floor = now.minus(config.pitrWindow());
        List<KeptSnapshot> finished = kept.stream().filter(k -> k.finishedAt() != null)
                .sorted(java.util.Comparator.comparing(KeptSnapshot::finishedAt)).toList();
        if (finished.isEmpty()) {
            return List.of();
        }
        KeptSnapshot serving = finished.get(0);
        for (KeptSnapshot k : finished) {
            if (!k.finishedAt().isAfter(floor)) {
                serving = k;
            }
        }
        KeptSnapshot base = serving;
        List<WalArchive.BaseBackupMark> marks = archive.marks();
        WalArchive.BaseBackupMark mark = marks.stream().filter(m -> !m.startedAt().isBefore(base.startedAt())
                && !m.startedAt().isAfter(base.finishedAt())).findFirst().orElse(null);
        if (mark == null) {
            LOG.warn("WAL retention of {}: base backup {} has no recorded WAL position (taken without the WAL archiver), "
                    + "so no WAL is deleted", config.name(), base.id());
            return List.of();
        }
        String keepFrom = mark.startSegment();
        List<WalArchive.StoredWal> doomed = archive.walObjects().stream().filter(o -> o.segment().compareTo(keepFrom) < 0).toList();
        String reason = "before base backup " + base.id() + " (started " + base.startedAt() + ", WAL from " + keepFrom
                + "), the oldest kept one that serves pitrWindow " + config.pitrWindow();
        List<LogRange> ranges = new ArrayList<>();
        for (List<WalArchive.StoredWal> timeline : doomed.stream()
                .collect(java.util.stream.Collectors.groupingBy(o -> o.segment().substring(0, 8), java.util.TreeMap::new,
                        java.util.stream.Collectors.toList())).values()) {
            ranges.add(new LogRange(timeline.get(0).segment(), timeline.get(timeline.size() - 1).segment(), timeline.size(), reason));
        }
        if (dryRun) {
            return ranges;
        }
        WalArchiver archiver = config.runningArchiver();
        if (archiver != null && archiver.status() != null) {
            archiver.retainFrom(base.startedAt(), keepFrom);
        } else {
            WalArchive.Status status = archive.status();
            if (status != null && (status.retainedFrom() == null || base.startedAt().isAfter(status.retainedFrom()))) {
                archive.writeStatus(status.retained(base.startedAt(), keepFrom));
            }
        }
        for (WalArchive.StoredWal object : doomed) {
            archive.delete(object.key());
        }
        for (WalArchive.BaseBackupMark old : marks) {
            if (old.startSegment().compareTo(keepFrom) < 0) {
                archive.deleteMark(old);
            }
        }
        if (!doomed.isEmpty()) {
            LOG.info("WAL retention of {}: deleted {} WAL objects {}", config.name(), doomed.size(), reason);
        }
        return ranges;
    }
}
