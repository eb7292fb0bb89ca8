package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import dev.backstop.db.RepositoryDao.ChunkRow;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.pipeline.ObjectCodec;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every pack of a repository and checks every chunk in it: its stored bytes against the
 * SHA-256 recorded when it was written (needs no key), and where this host can decode them (no
 * encryption, or the private key is here) its content against its id. A damaged or missing pack is
 * reported with the snapshots that name it. Memory: one pack at a time.
 */
public final class RepositoryCheck {
    private static final Logger LOG = LoggerFactory.getLogger(RepositoryCheck.class);

    private final Repositories repositories;
    private final ObjectCodec codec;

    public RepositoryCheck(Repositories repositories, ObjectCodec codec) {
        this.repositories = repositories;
        this.codec = codec;
    }

    /** A damaged pack: why, and the COMPLETED snapshots that reference it. */
    public record Damage(String pack, String reason, List<String> snapshots) {}

    /** One target's check: what was read, whether contents were decoded, what is damaged. */
    public record Report(String target, int packs, long chunks, long bytes, boolean contentVerified, List<Damage> damaged) {}

    public List<Report> checkAll() {
        return repositories.all().stream().map(this::check).toList();
    }

    /** The check of one target's repository, by the target's name. */
    public Report check(String target) {
        return repositories.all().stream().filter(r -> r.targetName().equals(target)).findFirst().map(this::check)
                .orElseThrow(() -> new IllegalArgumentException("no storage target '" + target + "'"));
    }

    public Report check(ChunkRepository repository) {
        RepositoryDao dao = repositories.dao();
        String target = repository.targetName();
        boolean decode = !codec.encrypting() || codec.canDecrypt();
        ChunkIds plain = ChunkIds.plain();
        ChunkIds keyed = null;
        List<Damage> damaged = new ArrayList<>();
        int packs = 0;
        long chunks = 0;
        long bytes = 0;
        for (RepositoryDao.PackRow pack : dao.packs(target)) {
            if (!"LIVE".equals(pack.status())) {
                continue; // a pack being written, or condemned: no COMPLETED snapshot depends on it
            }
            packs++;
            List<ChunkRow> rows = dao.chunksOf(target, pack.packKey());
            String reason = null;
            try {
                byte[] stored = repository.target().read(pack.packKey(), 0, (int) pack.storedBytes());
                bytes += stored.length;
                for (ChunkRow row : rows) {
                    chunks++;
                    byte[] chunk = java.util.Arrays.copyOfRange(stored, (int) row.packOffset(), (int) row.packOffset() + row.storedLength());
                    String sha = plain.id(chunk, 0, chunk.length);
                    if (!sha.equals(row.storedSha256())) {
                        reason = "chunk " + row.chunkId() + " at " + row.packOffset() + ": stored bytes hash to " + sha;
                        break;
                    }
                    if (decode) {
                        byte[] data = codec.decodeChunk(chunk, codec.encrypting(), row.rawLength(), "no private key");
                        if (codec.encrypting() && keyed == null) {
                            keyed = repository.currentKeyedIds().orElseThrow(
                                    () -> new IOException("the catalog holds no chunk key to check keyed ids with"));
                        }
                        String id = (codec.encrypting() ? keyed : plain).id(data, 0, data.length);
                        if (!id.equals(row.chunkId())) {
                            reason = "chunk " + row.chunkId() + " at " + row.packOffset() + ": its content hashes to " + id;
                            break;
                        }
                    }
                }
            } catch (NoSuchFileException e) {
                reason = "the pack is missing";
            } catch (IOException | RuntimeException e) {
                reason = e.getMessage();
            }
            if (reason != null) {
                List<String> snapshots = dao.referencingCompleted(target, pack.packKey());
                damaged.add(new Damage(pack.packKey(), reason, snapshots));
                LOG.error("Repository check of {}: pack {} is damaged ({}); snapshots that name it: {}", target, pack.packKey(), reason,
                        snapshots);
            }
        }
        LOG.info("Repository check of {}: {} packs, {} chunks, {} bytes read; {} damaged{}", target, packs, chunks, bytes,
                damaged.size(), decode ? "" : " (stored bytes checked; contents not decoded: no private key on this host)");
        return new Report(target, packs, chunks, bytes, decode, List.copyOf(damaged));
    }
}
