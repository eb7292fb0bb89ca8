package dev.backstop.core;

import com.fasterxml.jackson.databind.ObjectMapper;
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
 * (origin REBUILT). Rows the catalog has are left as they are. Safe to run any number of times.
 */
public final class CatalogRebuilder {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogRebuilder.class);

    /** What a pass found. */
    public record Result(int manifests, int added, int known, int unreadable) {}

    private final Map<String, StorageTarget> targets;
    private final SnapshotDao snapshots;
    private final ObjectMapper mapper;

    private final dev.backstop.repository.Repositories repositories;

    /** @param repositories the chunked snapshots' packs and chunks are indexed again from their chunk lists */
    public CatalogRebuilder(Map<String, StorageTarget> targets, SnapshotDao snapshots, ObjectMapper mapper,
            dev.backstop.repository.Repositories repositories) {
        this.repositories = repositories;
        this.targets = Map.copyOf(targets);
        this.snapshots = snapshots;
        this.mapper = mapper;
    }

    public Result rebuild() throws IOException {
        int manifests = 0;
        int added = 0;
        int known = 0;
        int unreadable = 0;
        for (StorageTarget target : targets.values()) {
            for (String key : target.list("")) {
                if (!key.endsWith("/" + SnapshotLayout.MANIFEST)) {
                    continue;
                }
                manifests++;
                Manifest manifest;
                try (InputStream in = target.open(key)) {
                    manifest = mapper.readValue(in, Manifest.class);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("Cannot read manifest {} in {}: {}", key, target.name(), e.getMessage());
                    unreadable++;
                    continue;
                }
                if (!TimeOrderedId.isValid(manifest.snapshotId())) {
                    known++;
                    continue;
                }
                java.util.Optional<SnapshotRow> existing = snapshots.find(manifest.snapshotId());
                if (manifest.chunks() != null && repositories != null && (existing.isEmpty() || existing.get().chunked())) {
                    index(target, manifest);
                    // A replica's copy may hold the list as it was before a repack rewrote the primary's: both restore.
                    repositories.dao().acceptListSha(manifest.snapshotId(), manifest.sha256());
                }
                if (existing.isPresent()) {
                    if (existing.get().verifyStatus() == null) {
                        restoreVerification(target, key, manifest.snapshotId());
                    }
                    known++;
                    continue;
                }
                if (!target.exists(manifest.dataKey())) {
                    LOG.warn("Manifest {} in {} names a data object that is missing: {}", key, target.name(), manifest.dataKey());
                    unreadable++;
                    continue;
                }
                snapshots.insertComplete(row(manifest, target.name(), key));
                restoreVerification(target, key, manifest.snapshotId());
                added++;
            }
        }
        LOG.info("Catalog rebuild: {} manifests, {} rows added, {} already known, {} unreadable", manifests, added, known, unreadable);
        return new Result(manifests, added, known, unreadable);
    }

    /** A chunked snapshot's packs and chunks into the target's index (what is there already stays). */
    private void index(StorageTarget target, Manifest manifest) {
        try (InputStream list = target.open(manifest.dataKey())) {
            repositories.of(target).index(manifest.snapshotId(), list);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot index the chunks of snapshot {} in {}: {}", manifest.snapshotId(), target.name(), e.getMessage());
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
