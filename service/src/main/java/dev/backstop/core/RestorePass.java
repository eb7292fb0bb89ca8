package dev.backstop.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.RestoreRow;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.Manifest;
import dev.backstop.model.RestorePhase;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.source.CountingInputStream;
import dev.backstop.source.SourceRestorer;
import dev.backstop.storage.StorageTarget;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read side of a restore: one pass over a stored copy (download, SHA-256 and size, OpenPGP with
 * its integrity check, zstd) into the restorer's fresh target, committed only when the whole object
 * has verified and discarded on any failure; when a copy fails, the next healthiest one is read
 * into a new fresh target. {@link RestoreService} queues, tracks and records restores around it.
 */
final class RestorePass {
    private static final Logger LOG = LoggerFactory.getLogger(RestorePass.class);
    /** DOWNLOADING progress goes to the catalog after another 8 MiB, at most once a second ({@link ProgressDue}). */
    private static final long PROGRESS_EVERY = 8L << 20;

    /** Phase changes as {@code phase(phase, done, total)}. */
    interface PhaseSink {
        void phase(RestorePhase phase, long done, long total);
    }

    /**
     * Where a pass reports to; {@link #check()} throws (unchecked) once the restore is cancelled or
     * the service stops; {@code storedBytes} hears the stored bytes read so far.
     */
    record Progress(Runnable checker, PhaseSink phases, java.util.function.LongConsumer storedBytes) {
        void check() {
            checker.run();
        }

        void phase(RestorePhase phase, long done, long total) {
            phases.phase(phase, done, total);
        }

        void stored(long bytes) {
            storedBytes.accept(bytes);
        }
    }

    private final Replicator copies;
    private final ObjectCodec codec;
    private final ObjectMapper mapper;

    private final dev.backstop.repository.Repositories repositories;

    RestorePass(Replicator copies, ObjectCodec codec, ObjectMapper mapper, dev.backstop.repository.Repositories repositories) {
        this.repositories = repositories;
        this.copies = copies;
        this.codec = codec;
        this.mapper = mapper;
    }

    /** What a restore did ({@code detail}) and, for a point-in-time one, the point it reached. */
    record Applied(String detail, java.time.Instant recoveredTo) {}

    /** Reads from the healthiest target holding a copy; when that fails, from the next one (into a new fresh target). */
    Applied fromHealthiestCopy(RestoreRow row, SnapshotRow snapshot, SourceRestorer restorer, SourceRestorer.Plan plan,
            Progress progress) throws Exception {
        List<StorageTarget> candidates = copies.readable(snapshot);
        if (candidates.isEmpty()) {
            throw new IOException("storage target '" + snapshot.storageTarget() + "' of snapshot " + snapshot.id() + " is not configured");
        }
        Exception first = null;
        List<String> reasons = new ArrayList<>();
        for (StorageTarget target : candidates) {
            try {
                Applied applied = stream(row, snapshot, restorer, plan, target, progress);
                if (first != null) {
                    LOG.warn("Restore {} read snapshot {} from {} after: {}", row.id(), snapshot.id(), target.name(), reasons);
                }
                return applied;
            } catch (UncheckedIOException | InterruptedException | java.io.InterruptedIOException stopped) {
                throw stopped; // cancelled or stopping: no other copy is tried
            } catch (Exception e) {
                first = first == null ? e : first;
                reasons.add(target.name() + ": " + SnapshotService.reason(e));
            }
        }
        if (candidates.size() == 1) {
            throw first;
        }
        throw new IOException("no target could deliver a verified copy: " + String.join("; ", reasons), first);
    }

    /**
     * One pass: the stored bytes are hashed and counted as they are decrypted, decompressed and
     * written into the fresh target; then the object's own checks decide between commit and discard.
     */
    private Applied stream(RestoreRow row, SnapshotRow snapshot, SourceRestorer restorer, SourceRestorer.Plan plan,
            StorageTarget target, Progress progress) throws Exception {
        progress.phase(RestorePhase.DOWNLOADING, 0, snapshot.storedBytes());
        Manifest manifest;
        try (InputStream in = target.open(snapshot.manifestKey())) {
            manifest = mapper.readValue(in, Manifest.class);
        } catch (NoSuchFileException e) {
            throw new IOException("manifest missing from storage: " + snapshot.manifestKey());
        }
        if (snapshot.chunked()) {
            return streamChunked(row, snapshot, restorer, plan, target, progress, manifest);
        }
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long[] stored = new long[1];
        long[] raw = new long[1];
        ProgressDue due = new ProgressDue(PROGRESS_EVERY);
        InputStream object;
        try {
            object = target.open(snapshot.storageKey());
        } catch (NoSuchFileException e) {
            throw new IOException("stored object missing from storage: " + snapshot.storageKey());
        }
        SourceRestorer.Fresh fresh = null;
        // Download and hashing run on a thread of their own, beside decryption, decompression and the target.
        try (InputStream measured = new HashingReadAhead(object, sha, n -> {
            stored[0] = n;
            progress.check();
            progress.stored(n);
            if (due.at(n)) {
                progress.phase(RestorePhase.DOWNLOADING, n, snapshot.storedBytes());
            }
        }, 1 << 20, 4, "restore-read-" + row.id())) {
            fresh = row.dryRun() ? null : restorer.open(plan, row.id(), done -> progress.check());
            Exception writeFailure = null;
            String dryRunDetail = "";
            try (InputStream decoded = new CountingInputStream(decoded(snapshot, new KeepOpen(measured)), n -> raw[0] = n)) {
                if (row.dryRun()) {
                    dryRunDetail = restorer.dryRun(plan, decoded);
                } else {
                    fresh.write(decoded);
                }
                decoded.transferTo(OutputStream.nullOutputStream()); // what the target did not need (tar padding) is verified too
            } catch (UncheckedIOException stopped) {
                throw stopped;
            } catch (Exception e) {
                writeFailure = e;
            }
            measured.transferTo(OutputStream.nullOutputStream()); // hash whatever the decoder left unread
            progress.phase(RestorePhase.VERIFYING, stored[0], snapshot.storedBytes());
            verify(snapshot, manifest, stored[0], HexFormat.of().formatHex(sha.digest()));
            if (writeFailure != null) {
                throw writeFailure;
            }
            if (raw[0] != snapshot.rawBytes()) {
                throw new IOException("decoded size " + raw[0] + " differs from the " + snapshot.rawBytes() + " bytes recorded");
            }
            if (row.dryRun()) {
                return new Applied("verified " + raw[0] + " bytes of " + snapshot.sourceType() + " data (sha256 " + snapshot.sha256()
                        + "); would restore into " + plan.key() + " (mode " + row.mode().name().toLowerCase(Locale.ROOT) + ")"
                        + dryRunDetail + (plan.wouldRefuse().isEmpty() ? "" : "; the real run would be refused now: "
                                + String.join("; ", plan.wouldRefuse())) + "; nothing changed", null);
            }
            return commit(fresh, raw[0], snapshot, progress);
        } catch (Exception | Error e) {
            if (fresh != null) {
                fresh.discard();
            }
            throw e;
        }
    }

    /** The verified stream is written: the fresh target is made live (APPLYING, then RECOVERING while a log replays). */
    private static Applied commit(SourceRestorer.Fresh fresh, long raw, SnapshotRow snapshot, Progress progress) throws Exception {
        progress.phase(RestorePhase.APPLYING, raw, snapshot.rawBytes());
        progress.check();
        fresh.onRecovery((done, total) -> progress.phase(RestorePhase.RECOVERING, done, total));
        String detail = fresh.commit();
        return new Applied(detail, fresh.recoveredTo());
    }

    /**
     * A chunked snapshot: its chunk list (hashed as it is read) names the chunks, which are read
     * ahead, decoded and each verified against its id before the restorer sees a byte of it; the
     * fresh target is committed only when the list itself verified and every byte arrived.
     */
    private Applied streamChunked(RestoreRow row, SnapshotRow snapshot, SourceRestorer restorer, SourceRestorer.Plan plan,
            StorageTarget target, Progress progress, Manifest manifest) throws Exception {
        if (repositories == null || manifest.chunks() == null) {
            throw new IOException("snapshot " + snapshot.id() + " is chunked and its manifest names no chunks");
        }
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long[] raw = new long[1];
        ProgressDue due = new ProgressDue(PROGRESS_EVERY);
        long total = manifest.chunks().chunkBytes();
        InputStream listObject;
        try {
            listObject = target.open(snapshot.storageKey());
        } catch (NoSuchFileException e) {
            throw new IOException("stored object missing from storage: " + snapshot.storageKey() + " (the snapshot's chunk list)");
        }
        long[] listBytes = new long[1];
        SourceRestorer.Fresh fresh = null;
        try (InputStream list = new CountingInputStream(new java.security.DigestInputStream(listObject, sha), n -> listBytes[0] = n);
                InputStream data = repositories.of(target).reader(list, manifest.chunks().chunkIds(), manifest.chunks().keyId(),
                        snapshot.encryptionFingerprint() != null, repositories.readers(), repositories.readAhead(), n -> {
                            progress.check();
                            progress.stored(n);
                            if (due.at(n)) {
                                progress.phase(RestorePhase.DOWNLOADING, n, total);
                            }
                        }, "snapshot " + snapshot.id() + " is encrypted to " + snapshot.encryptionFingerprint()
                                + " and encryption.privateKeyFile is not configured on this host")) {
            fresh = row.dryRun() ? null : restorer.open(plan, row.id(), done -> progress.check());
            Exception writeFailure = null;
            String dryRunDetail = "";
            try (InputStream decoded = new CountingInputStream(new KeepOpen(data), n -> raw[0] = n)) {
                if (row.dryRun()) {
                    dryRunDetail = restorer.dryRun(plan, decoded);
                } else {
                    fresh.write(decoded);
                }
                decoded.transferTo(OutputStream.nullOutputStream()); // every chunk is verified, needed or not
            } catch (UncheckedIOException stopped) {
                throw stopped;
            } catch (Exception e) {
                writeFailure = e;
            }
            if (writeFailure != null) {
                // the target's failure, unless a chunk did not verify: that is the cause to name
                try {
                    data.transferTo(OutputStream.nullOutputStream());
                } catch (IOException chunkFailure) {
                    writeFailure = chunkFailure;
                }
            }
            progress.phase(RestorePhase.VERIFYING, total, total);
            list.transferTo(OutputStream.nullOutputStream()); // a list the reader stopped early in is hashed whole
            String listSha = HexFormat.of().formatHex(sha.digest());
            boolean verified = listVerifies(snapshot, listSha, manifest.sha256());
            if (!verified && listBytes[0] != manifest.storedBytes()) {
                throw new IOException("size mismatch: the chunk list is " + listBytes[0] + " bytes, the manifest recorded "
                        + manifest.storedBytes() + (listBytes[0] < manifest.storedBytes() ? " (truncated)" : ""));
            }
            if (!verified) {
                throw new IOException("checksum mismatch: the chunk list's SHA-256 is " + listSha + ", the catalog recorded "
                        + snapshot.sha256() + " and the manifest " + manifest.sha256());
            }
            if (writeFailure != null) {
                throw writeFailure;
            }
            if (raw[0] != snapshot.rawBytes()) {
                throw new IOException("the chunks hold " + raw[0] + " bytes, " + snapshot.rawBytes() + " were recorded");
            }
            if (row.dryRun()) {
                return new Applied("verified " + raw[0] + " bytes of " + snapshot.sourceType() + " data in "
                        + manifest.chunks().chunkCount() + " chunks; would restore into " + plan.key() + " (mode "
                        + row.mode().name().toLowerCase(Locale.ROOT) + ")" + dryRunDetail + (plan.wouldRefuse().isEmpty() ? ""
                                : "; the real run would be refused now: " + String.join("; ", plan.wouldRefuse()))
                        + "; nothing changed", null);
            }
            return commit(fresh, raw[0], snapshot, progress);
        } catch (Exception | Error e) {
            if (fresh != null) {
                fresh.discard();
            }
            throw e;
        }
    }

    /**
     * A chunk list verifies when it hashes to what the catalog holds and the manifest beside it says;
     * or, once a repack rewrote it (same content, other locations), to any SHA-256 the list has had,
     * and the manifest to one of them too (a replica's copy, a restore that began before the rewrite).
     */
    private boolean listVerifies(SnapshotRow snapshot, String listSha, String manifestSha) {
        if (listSha.equals(snapshot.sha256()) && listSha.equals(manifestSha)) {
            return true;
        }
        List<String> had = repositories.dao().acceptedListShas(snapshot.id());
        return (listSha.equals(snapshot.sha256()) || had.contains(listSha))
                && (manifestSha.equals(snapshot.sha256()) || had.contains(manifestSha));
    }

    /** The object's own checks come first: they name the cause better than a decoder error does. */
    private static void verify(SnapshotRow snapshot, Manifest manifest, long size, String sha256) throws IOException {
        if (size != snapshot.storedBytes()) {
            throw new IOException("size mismatch: the stored object is " + size + " bytes, the catalog recorded "
                    + snapshot.storedBytes() + (size < snapshot.storedBytes() ? " (truncated)" : ""));
        }
        if (!sha256.equals(snapshot.sha256()) || !sha256.equals(manifest.sha256())) {
            throw new IOException("checksum mismatch: the stored object's SHA-256 is " + sha256 + ", the catalog recorded "
                    + snapshot.sha256() + " and the manifest " + manifest.sha256());
        }
    }

    private InputStream decoded(SnapshotRow snapshot, InputStream stored) throws IOException {
        return codec.decode(stored, snapshot.encryptionFingerprint() != null, "snapshot " + snapshot.id() + " is encrypted to "
                + snapshot.encryptionFingerprint() + " and encryption.privateKeyFile is not configured on this host");
    }

    /** Closing the decoder must not close the stream still drained and hashed afterwards. */
    private static final class KeepOpen extends FilterInputStream {
        KeepOpen(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
            // the owner closes it
        }
    }
}
