package dev.backstop.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.CopyDao;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.Manifest;
import dev.backstop.model.SnapshotLayout;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.TimeOrderedId;
import dev.backstop.model.VerificationRecord;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recreates catalog rows from the manifests in storage, for when the catalog is lost: every
 * {@code .../{id}/manifest.json} whose snapshot the catalog does not know becomes a COMPLETED row
 * (origin REBUILT), from the source's own target when that holds it, and every other target
 * holding a manifest of it becomes a COPIED copy of it (so restores fall back to replicas, and
 * deletes reach them, as before the loss). Rows the catalog has are left as they are. Safe to run
 * any number of times.
 */
public final class CatalogRebuilder {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogRebuilder.class);

    /**
     * What a pass found; {@code unknownPacks}: packs in storage no snapshot names, recorded for a
     * prune to delete after the grace period (none while anything was unreadable).
     */
    public record Result(int manifests, int added, int known, int unreadable, int unknownPacks) {
        /** One line for the CLI and the admin task. */
        public String summary() {
            return String.format("%d manifests found, %d snapshots added to the catalog, %d already known, %d unreadable, "
                    + "%d packs no snapshot names (a prune deletes them after the grace period)", manifests, added, known, unreadable,
                    unknownPacks);
        }
    }

    private final Map<String, StorageTarget> targets;
    private final SnapshotDao snapshots;
    private final ObjectMapper mapper;

    private final dev.backstop.repository.Repositories repositories;
    private final CopyDao copies;
    private final Map<String, String> primaries;

    /**
     * @param repositories the chunked snapshots' packs and chunks are indexed again from their chunk lists
     * @param primaries    each source's own target (where its snapshots are written); other targets hold copies
     */
    public CatalogRebuilder(Map<String, StorageTarget> targets, SnapshotDao snapshots, CopyDao copies, ObjectMapper mapper,
            dev.backstop.repository.Repositories repositories, Map<String, String> primaries) {
        this.repositories = repositories;
        this.copies = copies;
        this.primaries = Map.copyOf(primaries);
        this.targets = Map.copyOf(targets);
        this.snapshots = snapshots;
        this.mapper = mapper;
    }

    /**
     * Two passes over every target's manifests: the first makes rows only from a source's own
     * target, the second from the others (a row where the own target lacks the snapshot, else a copy).
     */
    public Result rebuild() throws IOException {
        int[] counts = new int[5]; // manifests, added, known, unreadable, chunk lists not indexed
        java.util.List<java.util.Map.Entry<StorageTarget, String>> later = new java.util.ArrayList<>();
        for (StorageTarget target : targets.values()) {
            for (String key : target.list("")) {
                if (key.endsWith("/" + SnapshotLayout.MANIFEST)) {
                    counts[0]++;
                    Manifest manifest = read(target, key, counts);
                    if (manifest != null && !target.name().equals(primaries.getOrDefault(manifest.source(), target.name()))) {
                        later.add(java.util.Map.entry(target, key)); // read again in the second pass: nothing held meanwhile
                    } else if (manifest != null) {
                        take(target, key, manifest, counts);
                    }
                }
            }
        }
        for (java.util.Map.Entry<StorageTarget, String> copy : later) {
            Manifest manifest = read(copy.getKey(), copy.getValue(), counts);
            if (manifest != null) {
                take(copy.getKey(), copy.getValue(), manifest, counts);
            }
        }
        int unknownPacks = adoptUnknownPacks(counts[3] + counts[4]);
        LOG.info("Catalog rebuild: {} manifests, {} rows added, {} already known, {} unreadable, {} unknown packs condemned", counts[0],
                counts[1], counts[2], counts[3], unknownPacks);
        return new Result(counts[0], counts[1], counts[2], counts[3], unknownPacks);
    }

    /**
     * Packs no snapshot names (the lost catalog had condemned them, or their run failed) would
     * otherwise stay in storage for ever: they are recorded as condemned, for the next prunes to
     * delete. Only after a rebuild that read every manifest and chunk list: a pack of a snapshot
     * whose list could not be read now is not condemned for it.
     */
    private int adoptUnknownPacks(int unreadable) {
        if (repositories == null) {
            return 0;
        }
        if (unreadable > 0) {
            LOG.warn("Catalog rebuild: {} manifests or chunk lists could not be read, so packs no snapshot names are left alone "
                    + "(not condemned); run the rebuild again once they read", unreadable);
            return 0;
        }
        int adopted = 0;
        for (StorageTarget target : targets.values()) {
            try {
                int found = repositories.of(target).adoptUnknownPacks();
                if (found > 0) {
                    LOG.info("Catalog rebuild: {} packs in {} are named by no snapshot; condemned, a prune deletes them after the "
                            + "grace period", found, target.name());
                }
                adopted += found;
            } catch (IOException | RuntimeException e) {
                LOG.warn("Cannot list the packs of {} for ones no snapshot names: {}", target.name(), e.getMessage());
            }
        }
        return adopted;
    }

    private Manifest read(StorageTarget target, String key, int[] counts) {
        try (InputStream in = target.open(key)) {
            return mapper.readValue(in, Manifest.class);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot read manifest {} in {}: {}", key, target.name(), e.getMessage());
            counts[3]++;
            return null;
        }
    }

    /** One manifest: a new row, or (the row known) a copy on this target when the row is of another. */
    private void take(StorageTarget target, String key, Manifest manifest, int[] counts) throws IOException {
        if (!TimeOrderedId.isValid(manifest.snapshotId())) {
            counts[2]++;
            return;
        }
        java.util.Optional<SnapshotRow> existing = snapshots.find(manifest.snapshotId());
        if (manifest.chunks() != null && repositories != null && (existing.isEmpty() || existing.get().chunked())) {
            if (!index(target, manifest)) {
                counts[4]++; // the row is still made (the list may read later); its packs are not known now
            }
            // A replica's copy may hold the list as it was before a repack rewrote the primary's: both restore.
            repositories.dao().acceptListSha(manifest.snapshotId(), manifest.sha256());
        }
        if (existing.isPresent()) {
            if (existing.get().verifyStatus() == null) {
                restoreVerification(target, key, manifest.snapshotId());
            }
            recordCopy(existing.get(), target, manifest);
            counts[2]++;
            return;
        }
        if (!target.exists(manifest.dataKey())) {
            LOG.warn("Manifest {} in {} names a data object that is missing: {}", key, target.name(), manifest.dataKey());
            counts[3]++;
            return;
        }
        snapshots.insertComplete(row(manifest, target.name(), key));
        restoreVerification(target, key, manifest.snapshotId());
        counts[1]++;
    }

    /** A manifest on a target other than the row's, with its data there: that target holds a copy. */
    private void recordCopy(SnapshotRow row, StorageTarget target, Manifest manifest) throws IOException {
        // A row without a target was written before targets were recorded: its own is the source's.
        String own = row.storageTarget() != null ? row.storageTarget() : primaries.get(row.sourceName());
        if (copies == null || target.name().equals(own) || !target.exists(manifest.dataKey())
                || copies.forSnapshot(row.id()).stream().anyMatch(c -> c.target().equals(target.name()))) {
            return;
        }
        copies.insertCopied(row.id(), target.name(), manifest.finishedAt());
        LOG.info("Catalog rebuild: snapshot {} has a copy in {}", row.id(), target.name());
    }

    /** A chunked snapshot's packs and chunks into the target's index (what is there already stays); false when its list cannot be read. */
    private boolean index(StorageTarget target, Manifest manifest) {
        try (InputStream list = target.open(manifest.dataKey())) {
            repositories.of(target).index(manifest.snapshotId(), list);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot index the chunks of snapshot {} in {}: {}", manifest.snapshotId(), target.name(), e.getMessage());
            return false;
        }
    }

    /** The drill record beside the manifest, when there is one, back into the catalog row. */
    private void restoreVerification(StorageTarget target, String manifestKey, String snapshotId) {
        VerificationRecord record;
        try (InputStream in = target.open(SnapshotLayout.verificationKey(manifestKey))) {
            record = mapper.readValue(in, VerificationRecord.class);
        } catch (java.nio.file.NoSuchFileException e) {
            return; // never drilled (or drilled before records were kept): its state stays unknown
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot read the verification record beside {} in {}: {}", manifestKey, target.name(), e.getMessage());
            return;
        }
        if (snapshotId.equals(record.snapshotId()) && record.verifiedAt() != null && record.status() != null) {
            snapshots.recordVerification(snapshotId, record.verifiedAt(), record.status(), record.detail());
        }
    }

    private SnapshotRow row(Manifest m, String target, String manifestKey) throws IOException {
        return new SnapshotRow(m.snapshotId(), m.source(), m.sourceType(), SnapshotStatus.COMPLETED, SnapshotOrigin.REBUILT,
                "catalog rebuild", m.startedAt(), m.finishedAt(), m.rawBytes(), m.storedBytes(), m.sha256(), target, m.dataKey(),
                manifestKey, m.compression(), m.encryption() == null ? null : m.encryption().recipientFingerprint(), null, null,
                mapper.writeValueAsString(m.toolVersions()), m.filesChanged() == null ? 0 : m.filesChanged().size(),
                m.filesVanished() == null ? 0 : m.filesVanished().size(), null, null, null, null,
                m.chunks() == null ? SnapshotRow.OBJECT : m.chunks().format(), m.chunks() == null ? m.storedBytes() : m.chunks().addedBytes());
    }
}
