package dev.backstop.source.pgcluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.backstop.pipeline.MeasuringOutputStream;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;

/**
 * A source's WAL in storage, under {@code <source>/wal/}: {@code <timeline>/<segment>.zst[.pgp]}
 * (immutable), {@code <timeline>/<segment>.partial.zst[.pgp]} (the segment being written,
 * overwritten), {@code history/<tli>.history.zst[.pgp]}, and {@code status.json} (what is archived
 * and until when, read by restores). {@code <source>/cluster.json} names the system the WAL
 * belongs to, so WAL of another cluster is never mixed in.
 */
final class WalArchive {
    static final ObjectMapper JSON = JsonMapper.builder().addModule(new JavaTimeModule())
            .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

    private final String source;
    private final StorageTarget target;
    private final ObjectCodec codec;

    WalArchive(String source, StorageTarget target, ObjectCodec codec) {
        this.source = source;
        this.target = target;
        this.codec = codec;
    }

    StorageTarget target() {
        return target;
    }

    /** {@code cluster.json}: the system this source's WAL belongs to. */
    record ClusterIdentity(String systemId, long segmentSize, int version) {}

    /**
     * {@code status.json}: the newest archived point. {@code coveredUntil}: every commit the server
     * had sent before this instant is in storage (a full segment or the uploaded partial one).
     */
    /**
     * How far the archive reaches. {@code retainedFrom}/{@code retainedFromSegment}: retention deleted
     * the WAL before the base backup that started then (at that segment); older base backups restore
     * only as they were.
     */
    record Status(String systemId, long segmentSize, int timeline, String lastSegment, String partialSegment,
            Instant coveredUntil, List<Gap> gaps, Instant retainedFrom, String retainedFromSegment) {
        Status {
            gaps = gaps == null ? List.of() : List.copyOf(gaps);
        }

        Status(String systemId, long segmentSize, int timeline, String lastSegment, String partialSegment, Instant coveredUntil,
                List<Gap> gaps) {
            this(systemId, segmentSize, timeline, lastSegment, partialSegment, coveredUntil, gaps, null, null);
        }

        Status reaching(int timeline, String lastSegment, String partialSegment, Instant coveredUntil, List<Gap> gaps) {
            return new Status(systemId, segmentSize, timeline, lastSegment, partialSegment, coveredUntil, gaps, retainedFrom,
                    retainedFromSegment);
        }

        Status retained(Instant from, String fromSegment) {
            return new Status(systemId, segmentSize, timeline, lastSegment, partialSegment, coveredUntil, gaps, from, fromSegment);
        }
    }

    /**
     * Where a base backup taken by the service starts and ends in the WAL, stored beside the WAL
     * ({@code wal/basebackups/<start segment>.json}, plain JSON: positions, no data) so retention
     * knows which WAL each base backup needs without reading the (maybe encrypted) backup itself.
     */
    record BaseBackupMark(String startSegment, String startLsn, String endLsn, int timeline, Instant startedAt,
            Instant finishedAt) {}

    void writeMark(BaseBackupMark mark) throws IOException {
        target.put(source + "/wal/basebackups/" + mark.startSegment() + ".json", JSON.writeValueAsBytes(mark), "application/json");
    }

    List<BaseBackupMark> marks() throws IOException {
        List<BaseBackupMark> marks = new java.util.ArrayList<>();
        for (String key : target.list(source + "/wal/basebackups/")) {
            if (key.endsWith(".json")) {
                try (InputStream in = target.open(key)) {
                    marks.add(JSON.readValue(in, BaseBackupMark.class));
                } catch (NoSuchFileException deletedMeanwhile) {
                    // another retention run removed it
                }
            }
        }
        return marks;
    }

    void deleteMark(BaseBackupMark mark) throws IOException {
        target.delete(source + "/wal/basebackups/" + mark.startSegment() + ".json");
    }

    /** A stored WAL object (full or partial segment) and the segment it holds. */
    record StoredWal(String key, String segment) {}

    /** Every stored segment and partial segment, on every timeline, in segment order. */
    List<StoredWal> walObjects() throws IOException {
        List<StoredWal> objects = new java.util.ArrayList<>();
        for (String key : target.list(source + "/wal/")) {
            String[] parts = key.substring(source.length() + "/wal/".length()).split("/");
            if (parts.length == 2 && parts[0].matches("[0-9A-F]{8}") && parts[1].length() >= 24
                    && Wal.SEGMENT.matcher(parts[1].substring(0, 24)).matches()) {
                objects.add(new StoredWal(key, parts[1].substring(0, 24)));
            }
        }
        objects.sort(java.util.Comparator.comparing(StoredWal::segment).thenComparing(StoredWal::key));
        return objects;
    }

    void delete(String key) throws IOException {
        target.delete(key);
    }

    /**
     * WAL that never reached storage: {@code from} to {@code to} (segment names), found at
     * {@code detectedAt}; {@code coveredUntil} is how far the archive reached before it (points up to
     * there stay recoverable from the base backups before the gap).
     */
    record Gap(String from, String to, Instant detectedAt, String reason, Instant coveredUntil) {}

    String segmentKey(String segment) {
        return source + "/wal/" + segment.substring(0, 8) + "/" + segment + codec.suffix();
    }

    String partialKey(String segment) {
        return source + "/wal/" + segment.substring(0, 8) + "/" + segment + ".partial" + codec.suffix();
    }

    String historyKey(String history) {
        return source + "/wal/history/" + history + codec.suffix();
    }

    String statusKey() {
        return source + "/wal/status.json";
    }

    String clusterKey() {
        return source + "/cluster.json";
    }

    ClusterIdentity identity() throws IOException {
        try (InputStream in = target.open(clusterKey())) {
            return JSON.readValue(in, ClusterIdentity.class);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    void writeIdentity(ClusterIdentity identity) throws IOException {
        target.put(clusterKey(), JSON.writeValueAsBytes(identity), "application/json");
    }

    /**
     * The archive of the cluster the server says it is: records its identity in {@code cluster.json}
     * the first time, refuses WAL of another system under this source (WAL of two clusters never
     * mixes), and returns the stored status (or an empty one).
     */
    Status open(ClusterIdentity server, String name, String where) throws IOException {
        ClusterIdentity stored = identity();
        if (stored == null) {
            writeIdentity(server);
        } else if (!stored.systemId().equals(server.systemId())) {
            throw new IllegalStateException("storage holds WAL of system " + stored.systemId() + " under source " + name
                    + ", but " + where + " is system " + server.systemId() + "; give this cluster a source name of its own");
        }
        Status existing = status();
        return existing != null ? existing : new Status(server.systemId(), server.segmentSize(), 0, null, null, null, List.of());
    }

    /** Whether {@code stored} reaches further than {@code mine} (another node archived meanwhile), or knows more gaps. */
    static boolean ahead(Status stored, Status mine) {
        boolean further = mine.lastSegment() == null ? stored.lastSegment() != null || later(stored.coveredUntil(), mine.coveredUntil())
                : stored.lastSegment() != null && (stored.lastSegment().compareTo(mine.lastSegment()) > 0
                        || stored.lastSegment().equals(mine.lastSegment()) && later(stored.coveredUntil(), mine.coveredUntil()));
        return further || stored.gaps().size() > mine.gaps().size();
    }

    private static boolean later(Instant a, Instant b) {
        return a != null && (b == null || a.isAfter(b));
    }

    Status status() throws IOException {
        try (InputStream in = target.open(statusKey())) {
            return JSON.readValue(in, Status.class);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    void writeStatus(Status status) throws IOException {
        try (ObjectUpload upload = target.uploadReplacing(statusKey())) {
            upload.write(JSON.writeValueAsBytes(status));
            upload.commit();
        }
    }

    /** The archived timeline history files ({@code 00000002.history}, ...) by timeline. */
    java.util.TreeMap<Integer, String> histories() throws IOException {
        java.util.TreeMap<Integer, String> histories = new java.util.TreeMap<>();
        for (String key : target.list(source + "/wal/history/")) {
            String name = key.substring(key.lastIndexOf('/') + 1);
            if (name.endsWith(codec.suffix()) && Wal.HISTORY.matcher(name.substring(0, name.length() - codec.suffix().length())).matches()) {
                histories.put(Integer.parseUnsignedInt(name.substring(0, 8), 16), name.substring(0, 8) + ".history");
            }
        }
        return histories;
    }

    /** The text of an archived timeline history file, decoded. */
    String readHistory(String history) throws IOException {
        try (InputStream in = codec.decode(target.open(historyKey(history)), historyKey(history))) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** Full segments archived on a timeline, in order. */
    TreeSet<String> segments(int timeline) throws IOException {
        String prefix = source + "/wal/" + Wal.timelineDirectory(timeline) + "/";
        TreeSet<String> names = new TreeSet<>();
        for (String key : target.list(prefix)) {
            String name = key.substring(key.lastIndexOf('/') + 1);
            if (name.length() > 24 && Wal.SEGMENT.matcher(name.substring(0, 24)).matches() && name.substring(24).equals(codec.suffix())) {
                names.add(name.substring(0, 24));
            }
        }
        return names;
    }

    /** An immutable object already stored with different content: never overwritten, always an alarm. */
    static final class ConflictException extends IOException {
        private static final long serialVersionUID = 1L;

        ConflictException(String message) {
            super(message);
        }
    }

    /**
     * What was stored under an immutable WAL key, recorded beside it ({@code <key>.digest.json},
     * plain JSON, no data): the SHA-256 of the file's bytes and, once stored, of the stored
     * (compressed, maybe encrypted) bytes. A later pass that finds the object already stored
     * compares through this record, so the archive never needs the private key (OpenPGP output
     * differs at every encryption: re-encrypting to compare is no use).
     */
    record StoredDigest(String plainSha256, long plainBytes, String storedSha256, long storedBytes) {}

    static String digestKey(String key) {
        return key + ".digest.json";
    }

    StoredDigest storedDigest(String key) throws IOException {
        try (InputStream in = target.open(digestKey(key))) {
            return JSON.readValue(in, StoredDigest.class);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private void writeDigest(String key, StoredDigest digest) throws IOException {
        try (ObjectUpload upload = target.uploadReplacing(digestKey(key))) {
            upload.write(JSON.writeValueAsBytes(digest));
            upload.commit();
        }
    }

    /**
     * Stores a local WAL file under {@code key} and reads it back: the stored bytes must hash to
     * exactly what was sent (the digest of the encoded stream as it went up), so no private key is
     * needed. With {@code immutable}, an existing object is never overwritten: the same content
     * (by the plaintext digest recorded when it was written) is fine ("already archived"), other
     * content a {@link ConflictException}. Returns the plaintext SHA-256.
     */
    String store(Path file, String key, boolean immutable) throws IOException {
        if (immutable && target.exists(key)) {
            String local = sha256(file);
            String stored = storedPlainSha256(key);
            if (!stored.equals(local)) {
                throw new ConflictException(key + " is already stored with different content (sha256 " + stored + ", local "
                        + local + "); it is never overwritten: another cluster's WAL may be archived under source " + source);
            }
            return local;
        }
        if (immutable) {
            // Recorded before the object: a crash between the two leaves a record that the next
            // pass can compare with, never an object that nothing here can read.
            writeDigest(key, new StoredDigest(sha256(file), Files.size(file), null, -1));
        }
        // The digests are of the bytes that went up: a partial segment grows while it is read.
        MessageDigest sent = digest();
        long plainBytes;
        long storedBytes;
        String storedSha;
        try (ObjectUpload upload = immutable ? target.upload(key) : target.uploadReplacing(key)) {
            MeasuringOutputStream out = MeasuringOutputStream.hashing(upload); // the encoder leaves it (and the upload) open
            try (InputStream in = new DigestInputStream(Files.newInputStream(file), sent); OutputStream encoder = codec.encode(out)) {
                plainBytes = in.transferTo(encoder);
            }
            storedBytes = out.count();
            storedSha = out.sha256();
            upload.commit();
        }
        String local = HexFormat.of().formatHex(sent.digest());
        String readBack = rawSha256(key);
        if (!readBack.equals(storedSha)) {
            throw new IOException("read-back of " + key + " hashed to sha256 " + readBack + ", but " + storedSha + " was sent");
        }
        if (immutable) {
            writeDigest(key, new StoredDigest(local, plainBytes, storedSha, storedBytes));
        }
        return local;
    }

    /**
     * The plaintext SHA-256 of a stored immutable object: from its digest record; for an object
     * stored before records were written, by decoding it (which needs the private key only when
     * it is encrypted).
     */
    private String storedPlainSha256(String key) throws IOException {
        StoredDigest recorded = storedDigest(key);
        if (recorded != null) {
            if (recorded.storedSha256() != null && !rawSha256(key).equals(recorded.storedSha256())) {
                throw new ConflictException(key + " no longer hashes to the sha256 recorded when it was stored ("
                        + recorded.storedSha256() + "): the stored object was changed or damaged");
            }
            return recorded.plainSha256();
        }
        if (key.endsWith(".pgp") && !codec.canDecrypt()) {
            throw new ConflictException(key + " is already stored without a digest record, and comparing it with the local "
                    + "file would need the private key, which is not on this host; compare it on a host that has it, then delete "
                    + "the stored object or the spool file");
        }
        MessageDigest sha = digest();
        try (InputStream in = new DigestInputStream(codec.decode(target.open(key), key), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private String rawSha256(String key) throws IOException {
        MessageDigest sha = digest();
        try (InputStream in = new DigestInputStream(target.open(key), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Downloads and decodes an object into a file (written beside it, then renamed). */
    void fetch(String key, Path into) throws IOException {
        Path temp = into.resolveSibling(into.getFileName() + ".backstop-tmp");
        try (InputStream in = codec.decode(target.open(key), key)) {
            Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(temp, into, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest sha = digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
