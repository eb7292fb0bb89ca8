package dev.backstop.repository;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.db.RepackDao;
import dev.backstop.db.RepositoryDao;
import dev.backstop.db.RepositoryDao.ChunkRow;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.StorageTarget;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewrites packs that are mostly unused: a LIVE pack whose chunks still named by a snapshot take
 * less than {@code threshold} of it gets those chunks copied, as stored (no decoding, no key
 * needed), into a new pack; the chunk lists of the snapshots that name it are rewritten to the new
 * locations; the old pack, then referenced by nobody, is condemned and swept as usual.
 *
 * <p>Safety, in order: only packs whose every referencing snapshot is COMPLETED on this target with
 * a complete chunk record are touched; the chunks are checked against their stored SHA-256 before
 * they are copied; the new pack is committed (read back) before the index points at it; a
 * snapshot references the new pack before its rewritten list exists; a rewrite is journaled before
 * the list is replaced (atomically), so a pass that dies is finished by the next one; the old pack
 * stays until no restore that may still read the old list runs. Every SHA-256 the list has had
 * stays acceptable to a restore ({@code snapshot_list_shas}): a replica's copy keeps the old list
 * (and the old packs, which only their own repository's snapshots can repack), and a restore that
 * began before the rewrite may read either.
 */
public final class RepositoryRepacker {
    private static final Logger LOG = LoggerFactory.getLogger(RepositoryRepacker.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The writer recorded for packs a repack writes (a PENDING one left by a dead pass is condemned like a failed run's). */
    static final String WRITER = "repack";
    /** Packs one pass rewrites at most (about 2 GiB copied with the default pack size): the rest waits for the next pass. */
    static final int MAX_PACKS_PER_PASS = 256;

    private final double threshold;

    /** @param threshold a pack whose used share is below this is rewritten; 0 never rewrites */
    public RepositoryRepacker(double threshold) {
        this.threshold = threshold;
    }

    /** What a pass did. */
    public record Outcome(int packs, long bytesCopied, long bytesLeft, int listsRewritten, List<String> failed) {
        static final Outcome NONE = new Outcome(0, 0, 0, 0, List.of());
    }

    /** Thrown when a chunk list cannot be rewritten safely; the old pack then stays referenced. */
    private static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * What repacking reclaims of shared packs once some of their users are deleted ({@link
     * RepositoryPruner#freedBy}): a pack falling under the threshold frees what is then unused of it;
     * one already under it frees only what the deletion unuses.
     */
    long reclaimedAfter(List<RepackDao.UseAfter> packs) {
        if (threshold <= 0) {
            return 0;
        }
        long bytes = 0;
        for (RepackDao.UseAfter p : packs) {
            if (p.usedAfter() < threshold * p.storedBytes()) {
                bytes += p.usedBytes() < threshold * p.storedBytes() ? p.usedBytes() - p.usedAfter() : p.storedBytes() - p.usedAfter();
            }
        }
        return bytes;
    }

    /** Rewrites the mostly unused packs of one repository written before {@code before}. */
    Outcome repack(ChunkRepository repository, Instant before, Instant now) {
        if (threshold <= 0) {
            return Outcome.NONE;
        }
        RepositoryDao dao = repository.dao();
        String target = repository.targetName();
        int packs = 0;
        int lists = 0;
        long copied = 0;
        long left = 0;
        List<String> failed = new ArrayList<>();
        for (RepackDao.PackUse use : dao.repackable(target, before)) {
            if (use.usedBytes() >= threshold * use.storedBytes()) {
                continue;
            }
            if (packs + failed.size() >= MAX_PACKS_PER_PASS) {
                LOG.info("Repack of {} stops after {} packs this pass; the next prune goes on", target, MAX_PACKS_PER_PASS);
                break;
            }
            try {
                Map<String, ChunkRow> moved = copyUsed(repository, use, now);
                for (String snapshot : dao.referencingCompleted(target, use.packKey())) {
                    rewrite(repository, snapshot, use.packKey(), moved, now);
                    lists++;
                }
                packs++;
                copied += moved.values().stream().mapToLong(ChunkRow::storedLength).sum();
                left += use.storedBytes() - use.usedBytes();
            } catch (IOException | RuntimeException e) {
                failed.add(use.packKey());
                LOG.warn("Repack of {} in {} stopped: {}; the pack stays as it is", use.packKey(), target, e.getMessage());
            }
        }
        if (packs > 0) {
            LOG.info("Repack of repository {}: {} packs rewritten ({} bytes copied, {} unused bytes to be deleted), {} chunk lists",
                    target, packs, copied, left, lists);
        }
        return new Outcome(packs, copied, left, lists, List.copyOf(failed));
    }

    /** Copies the used chunks of a pack, as stored, into a new LIVE pack the index points them at. */
    private static Map<String, ChunkRow> copyUsed(ChunkRepository repository, RepackDao.PackUse use, Instant now) throws IOException {
        RepositoryDao dao = repository.dao();
        String target = repository.targetName();
        List<ChunkRow> used = dao.usedChunksOf(target, use.packKey());
        Map<String, ChunkRow> moved = new HashMap<>();
        if (used.isEmpty()) {
            return moved;
        }
        byte[] bytes = repository.target().read(use.packKey(), 0, (int) use.storedBytes());
        for (ChunkRow row : used) {
            String stored = ChunkIds.plain().id(bytes, (int) row.packOffset(), row.storedLength());
            if (!stored.equals(row.storedSha256())) {
                throw new Refused("chunk " + row.chunkId() + " at " + row.packOffset() + " is damaged in storage (stored bytes hash to "
                        + stored + "); run the repository check");
            }
        }
        String packKey = repository.newPackKey();
        dao.insertPending(target, packKey, WRITER, now);
        List<ChunkRow> rows = new ArrayList<>();
        long offset = 0;
        try (ObjectUpload upload = repository.target().upload(packKey)) {
            for (ChunkRow row : used) {
                upload.write(bytes, (int) row.packOffset(), row.storedLength());
                rows.add(new ChunkRow(row.chunkId(), packKey, offset, row.storedLength(), row.rawLength(), row.storedSha256()));
                offset += row.storedLength();
            }
            upload.commit();
        }
        if (!dao.moved(target, packKey, offset, rows)) {
            throw new Refused("the new pack " + packKey + " was condemned before it was indexed");
        }
        rows.forEach(row -> moved.put(row.chunkId(), row));
        return moved;
    }

    /**
     * Rewrites one snapshot's chunk list so that no entry names {@code pack}: a moved chunk gets its
     * new location, any other its location in the index (a copy another snapshot stored).
     */
    private static void rewrite(ChunkRepository repository, String snapshot, String pack, Map<String, ChunkRow> moved, Instant now)
            throws IOException {
        RepositoryDao dao = repository.dao();
        StorageTarget target = repository.target();
        RepackDao.ListRef ref = dao.listOf(snapshot).orElseThrow(() -> new Refused("snapshot " + snapshot + " is gone"));
        MessageDigest oldSha = sha256();
        MessageDigest newSha = sha256();
        Set<String> packs = new LinkedHashSet<>();
        long newBytes = 0;
        try (InputStream in = new DigestInputStream(target.open(ref.storageKey()), oldSha);
                BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                ObjectUpload upload = target.uploadReplacing(ref.storageKey())) {
            for (String line; (line = lines.readLine()) != null; ) {
                ObjectNode entry = (ObjectNode) JSON.readTree(line);
                if (pack.equals(entry.get("pack").asText())) {
                    String id = entry.get("id").asText();
                    ChunkRow to = moved.get(id);
                    if (to == null) {
                        to = elsewhere(dao, repository.targetName(), id, pack);
                    }
                    entry.put("pack", to.packKey()).put("offset", to.packOffset()).put("length", to.storedLength())
                            .put("stored", to.storedSha256());
                }
                packs.add(entry.get("pack").asText());
                byte[] out = (JSON.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8);
                newSha.update(out);
                upload.write(out);
                newBytes += out.length;
            }
            String old = HexFormat.of().formatHex(oldSha.digest());
            if (!old.equals(ref.sha256())) {
                throw new Refused("the chunk list of snapshot " + snapshot + " does not match the catalog (SHA-256 " + old + ")");
            }
            // Referenced before the list names them: a pack a list names is never condemned.
            packs.forEach(key -> dao.reference(snapshot, repository.targetName(), key));
            RepackDao.Rewrite rewrite = new RepackDao.Rewrite(snapshot, repository.targetName(), old,
                    HexFormat.of().formatHex(newSha.digest()), newBytes, packs.size());
            if (!dao.listOf(snapshot).map(r -> "COMPLETED".equals(r.status())).orElse(false)) {
                throw new Refused("snapshot " + snapshot + " is no longer COMPLETED");
            }
            // Both lists stay acceptable: replicas keep the old one, and a restore may have begun before the rewrite.
            dao.acceptListSha(snapshot, old);
            dao.acceptListSha(snapshot, rewrite.newSha256());
            dao.journal(rewrite, now);
            upload.commit();
            complete(repository, rewrite, ref, packs);
        }
    }

    /** A chunk's location in the index, when it is in another pack that is LIVE. */
    private static ChunkRow elsewhere(RepositoryDao dao, String target, String id, String pack) throws Refused {
        Optional<ChunkRow> indexed = dao.chunk(target, id);
        if (indexed.isEmpty() || indexed.get().packKey().equals(pack)
                || !dao.packs(target, indexed.get().packKey()).map(p -> "LIVE".equals(p.status())).orElse(false)) {
            throw new Refused("chunk " + id + " of " + pack + " is not stored in another live pack");
        }
        return indexed.get();
    }

    /** The list is replaced: the manifest and the catalog follow, and the snapshot lets go of packs it no longer names. */
    private static void complete(ChunkRepository repository, RepackDao.Rewrite rewrite, RepackDao.ListRef ref, Set<String> packs)
            throws IOException {
        RepositoryDao dao = repository.dao();
        StorageTarget target = repository.target();
        ObjectNode manifest;
        try (InputStream in = target.open(ref.manifestKey())) {
            manifest = (ObjectNode) JSON.readTree(in);
        }
        manifest.put("sha256", rewrite.newSha256()).put("storedBytes", rewrite.newBytes());
        if (manifest.get("chunks") instanceof ObjectNode chunks) {
            chunks.put("packCount", rewrite.packCount());
        }
        try (ObjectUpload upload = target.uploadReplacing(ref.manifestKey())) {
            upload.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
            upload.commit();
        }
        dao.replaceListSha(rewrite.snapshotId(), rewrite.oldSha256(), rewrite.newSha256());
        for (String key : dao.packsOf(rewrite.snapshotId(), repository.targetName())) {
            if (!packs.contains(key)) {
                dao.unreference(rewrite.snapshotId(), repository.targetName(), key);
            }
        }
        dao.rewritten(rewrite.snapshotId());
    }

    /** Snapshots a pass gives a chunk record at most (each is one read of its chunk list). */
    static final int RECORDS_PER_PASS = 50;

    /**
     * Gives snapshots written before chunk records existed their record, from their chunk lists
     * (checked against the catalog's SHA-256), so that the packs they use can be repacked as well.
     */
    int recordChunks(ChunkRepository repository) {
        if (threshold <= 0) {
            return 0;
        }
        RepositoryDao dao = repository.dao();
        String target = repository.targetName();
        int recorded = 0;
        for (RepackDao.ListRef ref : dao.withoutChunkRecord(target, RECORDS_PER_PASS)) {
            try {
                List<String> ids = new ArrayList<>();
                dao.dropSnapshotChunks(ref.id(), target);
                String sha = eachEntry(repository.target(), ref.storageKey(), entry -> {
                    ids.add(entry.get("id").asText());
                    if (ids.size() >= 1000) {
                        dao.insertSnapshotChunks(ref.id(), target, ids);
                        ids.clear();
                    }
                });
                if (!sha.equals(ref.sha256())) {
                    dao.dropSnapshotChunks(ref.id(), target);
                    LOG.warn("The chunk list of snapshot {} does not match the catalog; its packs are not repacked (run the check)",
                            ref.id());
                    continue;
                }
                if (!ids.isEmpty()) {
                    dao.insertSnapshotChunks(ref.id(), target, ids);
                }
                dao.chunkSetComplete(ref.id(), target);
                recorded++;
            } catch (IOException | RuntimeException e) {
                dao.dropSnapshotChunks(ref.id(), target);
                LOG.warn("Cannot record the chunks of snapshot {} now: {}", ref.id(), e.getMessage());
            }
        }
        return recorded;
    }

    /**
     * Finishes the rewrites a pass that died left in the journal: a list already replaced gets its
     * manifest, catalog entry and references; one that was not replaced is left as it was.
     */
    void finishJournal(ChunkRepository repository) {
        RepositoryDao dao = repository.dao();
        for (RepackDao.Rewrite rewrite : dao.rewrites(repository.targetName())) {
            try {
                Optional<RepackDao.ListRef> ref = dao.listOf(rewrite.snapshotId());
                if (ref.isEmpty()) {
                    dao.rewritten(rewrite.snapshotId());
                    continue;
                }
                Set<String> packs = new LinkedHashSet<>();
                String now = eachEntry(repository.target(), ref.get().storageKey(), entry -> packs.add(entry.get("pack").asText()));
                if (now.equals(rewrite.newSha256())) {
                    complete(repository, rewrite, ref.get(), packs);
                    LOG.info("Finished the interrupted rewrite of the chunk list of snapshot {}", rewrite.snapshotId());
                } else if (now.equals(rewrite.oldSha256())) {
                    dao.rewritten(rewrite.snapshotId());
                } else {
                    LOG.error("The chunk list of snapshot {} matches neither side of its interrupted rewrite; left for an operator "
                            + "(repository check, catalog rebuild)", rewrite.snapshotId());
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("Cannot finish the rewrite of the chunk list of snapshot {} now: {}", rewrite.snapshotId(), e.getMessage());
            }
        }
    }

    /** Reads a chunk list entry by entry; returns the SHA-256 of all of it. */
    private static String eachEntry(StorageTarget target, String listKey, java.util.function.Consumer<com.fasterxml.jackson.databind.JsonNode> entry)
            throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(target.open(listKey), sha);
                BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                entry.accept(JSON.readTree(line));
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
