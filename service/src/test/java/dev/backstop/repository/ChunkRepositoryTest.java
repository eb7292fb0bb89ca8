package dev.backstop.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.db.Catalog;
import dev.backstop.db.RepositoryDao;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotOrigin;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.model.TimeOrderedId;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.pipeline.CompressionConfig;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.resilience.ThreadPools;
import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.filesystem.FilesystemTarget;
import dev.backstop.support.TestApps;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.db.ManagedDataSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The repository without the application: an H2 catalog, a filesystem target, plain ids (the
 * keyed ones are exercised by the encrypted round trips). Snapshots share chunks, pruning removes
 * only what nothing references, also while snapshots and restores run, and a damaged chunk fails
 * the read naming the chunk.
 */
class ChunkRepositoryTest {
    private final TimeOrderedId ids = new TimeOrderedId(Clock.systemUTC());
    private ManagedDataSource dataSource;
    private Jdbi jdbi;
    private ThreadPools threads;
    private SnapshotDao snapshots;
    private RepositoryDao dao;
    private Repositories repositories;
    private ChunkRepository repository;
    private FilesystemTarget target;
    private Path root;

    @BeforeEach
    void setUp() throws Exception {
        DataSourceFactory factory = new DataSourceFactory();
        factory.setUser("backstop");
        factory.setPassword("");
        factory.setDriverClass("org.h2.Driver");
        factory.setUrl("jdbc:h2:" + TestApps.tempDir("repo-catalog").resolve("catalog"));
        dataSource = factory.build(new MetricRegistry(), "catalog");
        Catalog.migrate(dataSource);
        jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
        snapshots = jdbi.onDemand(SnapshotDao.class);
        dao = jdbi.onDemand(RepositoryDao.class);
        root = TestApps.tempDir("repo-target");
        target = new FilesystemTarget("fs", root);
        threads = ThreadPools.standalone();
        // Small packs, so that a few MiB make several of them.
        repositories = new Repositories(Map.of("fs", target), dao, new ObjectCodec(CompressionConfig.defaults(), null, null), threads,
                Clock.systemUTC(), true, Map.of(), 2L << 20);
        repository = repositories.of(target);
    }

    @AfterEach
    void tearDown() throws Exception {
        threads.close();
        dataSource.stop();
    }

    private record Taken(String id, String listKey, byte[] data, RepositoryWriter.Result result) {}

    /** What a test writes into a snapshot's writer. */
    @FunctionalInterface
    private interface Steps {
        void write(RepositoryWriter writer, String snapshotId) throws IOException;
    }

    /** A snapshot as SnapshotService takes one: RUNNING row, chunks, chunk list, publish, COMPLETED. */
    private Taken snapshot(byte[] data) throws IOException {
        return snapshot(data, (writer, id) -> {
            for (int i = 0; i < data.length; i += 100_000) {
                writer.write(data, i, Math.min(100_000, data.length - i));
            }
        });
    }

    /** As {@link #snapshot(byte[])}, written by {@code steps}; {@code data} is what it must restore to. */
    private Taken snapshot(byte[] data, Steps steps) throws IOException {
        String id = ids.next();
        snapshots.insert(SnapshotRow.running(id, "src", "lines", SnapshotOrigin.API, "test", Clock.systemUTC().instant()));
        String listKey = "src/" + id + "/data.bin.chunks.jsonl";
        RepositoryWriter.Result result;
        try (ObjectUpload list = target.upload(listKey); RepositoryWriter writer = repository.writer(id, list)) {
            steps.write(writer, id);
            result = writer.finish();
            list.commit();
        }
        repository.publish(id);
        // The manifest parts a repack rewrites, written before COMPLETED as SnapshotService does.
        target.put(listKey + ".manifest", ("{\"snapshotId\": \"" + id + "\", \"sha256\": \"" + result.listSha256()
                + "\", \"storedBytes\": " + result.listBytes() + ", \"chunks\": {\"packCount\": " + result.packCount() + "}}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8), "application/json");
        SnapshotRow row = snapshots.find(id).orElseThrow();
        snapshots.complete(row.completed(Clock.systemUTC().instant(), result.rawBytes(), result.chunkBytes(), result.listSha256(), "fs",
                listKey, listKey + ".manifest", "zstd-3", null, "{}", 0, 0).chunked(result.addedBytes()));
        return new Taken(id, listKey, data, result);
    }

    private byte[] restore(Taken taken) throws IOException {
        try (InputStream in = repository.reader(target.open(taken.listKey()), ChunkIds.PLAIN, null, false, repositories.readers(),
                repositories.readAhead(), n -> { }, "no key")) {
            return in.readAllBytes();
        }
    }

    /**
     * A parent's files are found for reuse alike whether the parent is read whole (small) or a
     * directory at a time (large): unchanged files in several directories are reused, a file whose
     * identity moved and one the parent never had are not.
     */
    @Test
    void aParentsFilesAreReusedAlikeReadWholeOrADirectoryAtATime() throws IOException {
        Random random = new Random(41);
        List<String> paths = List.of("a/one", "a/two", "b/three", "b/c/four", "five");
        Map<String, byte[]> contents = new java.util.LinkedHashMap<>();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (String path : paths) {
            byte[] content = new byte[20_000 + random.nextInt(50_000)];
            random.nextBytes(content);
            contents.put(path, content);
            all.write(content);
        }
        Taken parent = snapshot(all.toByteArray(), (writer, id) -> {
            DirectoryFiles files = new DirectoryFiles(writer, () -> { }, dao, id, null);
            for (String path : paths) {
                files.startFile();
                writer.write(contents.get(path), 0, contents.get(path).length);
                files.endFile(path, identity(contents.get(path).length, path));
            }
            files.finish();
        });
        for (long limit : new long[] {DirectoryFiles.WHOLE_PARENT, 0}) {
            List<String> reused = new ArrayList<>();
            snapshot(new byte[0], (writer, id) -> {
                DirectoryFiles files = new DirectoryFiles(writer, () -> { }, dao, id, parent.id(), limit);
                for (String path : paths) {
                    long size = contents.get(path).length;
                    if (files.reuse(path, identity(path.equals("b/three") ? size + 1 : size, path))) {
                        reused.add(path);
                    }
                }
                assertThat(files.reuse("a/new", identity(10, "a/new"))).isFalse();
            });
            assertThat(reused).as("limit %d", limit).containsExactly("a/one", "a/two", "b/c/four", "five");
        }
    }

    private static dev.backstop.source.FileChunks.Identity identity(long size, String path) {
        return new dev.backstop.source.FileChunks.Identity(size, 1_000_000L * path.length(), 2_000_000L * path.length(), path.hashCode());
    }

    /**
     * Chunks named from a parent (as a directory's unchanged files are) keep their place in the
     * stream between chunks cut around them, which are looked up later, in batches.
     */
    @Test
    void chunksReusedFromAParentKeepTheirPlaceBetweenChunksStillToBeLookedUp() throws IOException {
        byte[] x = new byte[300_000];
        new Random(31).nextBytes(x);
        Taken parent = snapshot(x);
        List<RepositoryDao.ChunkRow> rows = new ArrayList<>();
        for (String line : new String(target.open(parent.listKey()).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                .split("\n")) {
            String chunkId = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("id").asText();
            rows.add(dao.reusable("fs", chunkId, "none").orElseThrow());
        }
        Random random = new Random(32);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        List<byte[]> cuts = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            byte[] cut = new byte[500 + random.nextInt(3000)];
            random.nextBytes(cut);
            cuts.add(cut);
            expected.write(cut);
            expected.write(x);
        }
        Taken child = snapshot(expected.toByteArray(), (writer, id) -> {
            for (byte[] cut : cuts) {
                writer.write(cut, 0, cut.length);
                writer.reuseLocated(rows);
            }
        });
        assertThat(restore(child)).isEqualTo(expected.toByteArray());
        assertThat(child.result().addedBytes()).as("only the cut chunks are new").isLessThan(40 * 3500 + 40 * 200);
    }

    /**
     * As a restore of the service reads: its row exists (not finished) before the chunk list is
     * opened, so no pack the list names is swept while it reads, even one a repack moved meanwhile.
     */
    private byte[] restoreAsTheServiceDoes(Taken taken) throws IOException {
        String restoreId = ids.next();
        jdbi.useHandle(h -> h.execute("INSERT INTO restores (id, snapshot_id, phase, mode, dry_run, requested_by, created_at) "
                + "VALUES (?, ?, 'DOWNLOADING', 'NEW', FALSE, 'test', ?)", restoreId, taken.id(), Clock.systemUTC().instant()));
        try {
            return restore(taken);
        } finally {
            jdbi.useHandle(h -> h.execute("UPDATE restores SET phase = 'COMPLETED' WHERE id = ?", restoreId));
        }
    }

    private void delete(Taken taken) throws IOException {
        target.delete(taken.listKey());
        snapshots.markRemoved(taken.id(), SnapshotStatus.DELETED);
    }

    private static byte[] random(long seed, int size) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    private long packFiles() throws IOException {
        if (!Files.exists(root.resolve("repository/packs"))) {
            return 0;
        }
        try (var files = Files.walk(root.resolve("repository/packs"))) {
            return files.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void aSecondSnapshotStoresOnlyWhatChangedAndPruneFreesOnlyWhatNothingReferences() throws Exception {
        byte[] first = random(1, 12 << 20);
        byte[] second = first.clone();
        System.arraycopy(random(2, 4096), 0, second, 3 << 20, 4096); // one region rewritten
        Taken a = snapshot(first);
        Taken b = snapshot(second);
        assertThat(a.result().addedBytes()).isGreaterThan(11L << 20);
        assertThat(b.result().addedBytes()).as("bytes the second snapshot added").isLessThan(a.result().addedBytes() / 4);
        // A third shares only the first half with the others: the packs of their second half become A's and B's alone.
        byte[] third = first.clone();
        System.arraycopy(random(6, 6 << 20), 0, third, 6 << 20, 6 << 20);
        Taken c = snapshot(third);
        assertThat(restore(c)).isEqualTo(third);
        assertThat(restore(a)).isEqualTo(first);
        assertThat(restore(b)).isEqualTo(second);

        Pruning grace = new Pruning(Duration.ZERO);
        grace.pass();
        grace.pass();
        assertThat(restore(a)).as("nothing referenced is pruned").isEqualTo(first);
        long before = packFiles();
        delete(a);
        delete(b);
        assertThat(repositories.dao().freedBy(List.of(c.id()))).as("bytes deleting C would free").isGreaterThan(5L << 20);
        grace.pass(); // condemns what only A referenced
        assertThat(packFiles()).as("condemned packs wait for the grace period").isEqualTo(before);
        grace.pass(); // sweeps
        assertThat(packFiles()).isLessThan(before);
        assertThat(restore(c)).isEqualTo(third);
        delete(c);
        grace.pass();
        grace.pass();
        assertThat(packFiles()).isZero();
        assertThat(dao.packs("fs")).isEmpty();
    }

    @Test
    void contentRepeatedWithinOneSnapshotIsStoredOnceWhetherItsCopiesAreLookedUpTogetherOrInLaterBatches() throws Exception {
        // 8 MiB repeated four times: copies fall in one lookup batch (in flight together), in the open pack and in sealed packs.
        byte[] part = random(21, 8 << 20);
        byte[] data = new byte[part.length * 4];
        for (int i = 0; i < 4; i++) {
            System.arraycopy(part, 0, data, i * part.length, part.length);
        }
        Taken taken = snapshot(data);
        assertThat(taken.result().addedBytes()).as("stored once, plus the chunks around each seam")
                .isLessThan(2L * part.length);
        assertThat(taken.result().chunkCount()).isGreaterThan(8);
        assertThat(restore(taken)).isEqualTo(data);
        Pruning grace = new Pruning(Duration.ZERO);
        grace.pass();
        grace.pass();
        assertThat(restore(taken)).as("every pack it names is referenced").isEqualTo(data);
    }

    @Test
    void twoSnapshotsStoringTheSameNewContentAtOnceBothComplete() throws Exception {
        byte[] same = random(9, 5 << 20);
        String a = ids.next();
        String b = ids.next();
        snapshots.insert(SnapshotRow.running(a, "one", "lines", SnapshotOrigin.API, "test", Clock.systemUTC().instant()));
        snapshots.insert(SnapshotRow.running(b, "two", "lines", SnapshotOrigin.API, "test", Clock.systemUTC().instant()));
        // Neither sees the other's PENDING packs: both store every chunk, and both index them.
        try (ObjectUpload listA = target.upload("one/list"); ObjectUpload listB = target.upload("two/list");
                RepositoryWriter writerA = repository.writer(a, listA); RepositoryWriter writerB = repository.writer(b, listB)) {
            writerA.write(same);
            writerB.write(same);
            writerA.finish();
            writerB.finish();
            listA.commit();
            listB.commit();
        }
        repository.publish(a);
        repository.publish(b);
        for (String list : List.of("one/list", "two/list")) {
            try (InputStream in = repository.reader(target.open(list), ChunkIds.PLAIN, null, false, repositories.readers(),
                    repositories.readAhead(), n -> { }, "no key")) {
                assertThat(in.readAllBytes()).isEqualTo(same);
            }
        }
    }

    @Test
    void pruneRunningBesideSnapshotsAndRestoresNeverRemovesAReferencedChunk() throws Exception {
        byte[] base = random(3, 6 << 20);
        List<Taken> kept = new ArrayList<>();
        kept.add(snapshot(base));
        Pruning pruning = new Pruning(Duration.ZERO, 0.5); // and repacks what the deletions leave mostly unused
        AtomicBoolean done = new AtomicBoolean();
        Map<String, Throwable> failures = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Future<?> pruner = pool.submit(() -> {
                while (!done.get()) {
                    pruning.pass();
                }
                return null;
            });
            Future<?> reader = pool.submit(() -> {
                while (!done.get()) {
                    Taken t;
                    synchronized (kept) {
                        t = kept.get(kept.size() - 1);
                    }
                    assertThat(restoreAsTheServiceDoes(t)).isEqualTo(t.data());
                }
                return null;
            });
            Random random = new Random(4);
            byte[] previous = base;
            for (int round = 0; round < 12; round++) {
                // Each snapshot changes 1.5 MiB of the one before: its new chunks stay partly in use by the later ones,
                // so deleting it leaves packs partly used, and the passes rewrite them.
                byte[] next = previous.clone();
                int at = random.nextInt(next.length - (3 << 19));
                System.arraycopy(random(100 + round, 3 << 19), 0, next, at, 3 << 19);
                previous = next;
                Taken taken = snapshot(next);
                synchronized (kept) {
                    kept.add(taken);
                    if (kept.size() > 3) {
                        delete(kept.remove(0)); // retention deletes the oldest while the others share its chunks
                    }
                }
            }
            done.set(true);
            pruner.get(60, TimeUnit.SECONDS);
            reader.get(60, TimeUnit.SECONDS);
        } finally {
            done.set(true);
            pool.shutdownNow();
        }
        assertThat(failures).isEmpty();
        pruning.pass();
        pruning.pass();
        for (Taken t : kept) {
            assertThat(restore(t)).as("snapshot " + t.id() + " after the prunes").isEqualTo(t.data());
        }
        assertThat(pruning.repacked.get()).as("packs rewritten beside the snapshots and restores").isPositive();
    }

    /**
     * A replica's copy that fails half-way (a pack missing from the source) and is then retried:
     * every pack ends indexed on the replica as on the source (its chunks and size), and the
     * replica alone restores the snapshot.
     */
    @Test
    void aPackCopyRetriedAfterAFailureHalfWayIndexesEveryPackOnTheReplica() throws Exception {
        Taken taken = snapshot(random(12, 5 << 20));
        FilesystemTarget replica = new FilesystemTarget("replica", TestApps.tempDir("repo-replica"));
        ChunkRepository copies = new Repositories(Map.of("fs", target, "replica", replica), dao, new ObjectCodec(
                CompressionConfig.defaults(), null, null), threads, Clock.systemUTC(), true, Map.of(), 2L << 20).of(replica);
        java.util.List<String> packs = dao.packs("fs").stream().map(RepositoryDao.PackRow::packKey).sorted().toList();
        assertThat(packs).hasSizeGreaterThan(1);
        Path last = root.resolve(packs.get(packs.size() - 1));
        Path aside = last.resolveSibling("aside");
        Files.move(last, aside);
        String listSha = taken.result().listSha256();
        assertThatThrownBy(() -> copies.copyPacks(taken.id(), repository, taken.listKey(), listSha)).isInstanceOf(IOException.class);
        Files.move(aside, last);

        copies.copyPacks(taken.id(), repository, taken.listKey(), listSha);
        for (String pack : packs) {
            RepositoryDao.PackRow source = dao.packs("fs", pack).orElseThrow();
            RepositoryDao.PackRow copy = dao.packs("replica", pack).orElseThrow();
            assertThat(copy.storedBytes()).as(pack).isEqualTo(source.storedBytes());
            assertThat(copy.chunkCount()).as(pack).isEqualTo(source.chunkCount());
            assertThat(copy.status()).as(pack).isEqualTo("LIVE");
            assertThat(dao.chunksOf("replica", pack)).as(pack).hasSize(source.chunkCount());
        }
        try (InputStream in = copies.reader(target.open(taken.listKey()), ChunkIds.PLAIN, null, false, repositories.readers(),
                repositories.readAhead(), n -> { }, "no key")) {
            assertThat(in.readAllBytes()).isEqualTo(taken.data());
        }
    }

    @Test
    void aPackWhoseCommitFailsWhileTheNextFillsFailsTheRunAndItsDiscardLeavesNoPack() throws Exception {
        // Full packs are committed on the sealers while the writer goes on: the second pack's commit fails there.
        java.util.concurrent.atomic.AtomicInteger commits = new java.util.concurrent.atomic.AtomicInteger();
        dev.backstop.storage.StorageTarget failing = (dev.backstop.storage.StorageTarget) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {dev.backstop.storage.StorageTarget.class}, (proxy, method, args) -> {
                    Object result;
                    try {
                        result = method.invoke(target, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (method.getName().equals("upload") && ((String) args[0]).endsWith(".pack")) {
                        ObjectUpload real = (ObjectUpload) result;
                        return new ObjectUpload() {
                            @Override
                            public void write(int b) throws IOException {
                                real.write(b);
                            }

                            @Override
                            public void write(byte[] b, int off, int len) throws IOException {
                                real.write(b, off, len);
                            }

                            @Override
                            public void commit() throws IOException {
                                if (commits.incrementAndGet() == 2) {
                                    throw new IOException("No space left on device (injected)");
                                }
                                real.commit();
                            }

                            @Override
                            public void abort() {
                                real.abort();
                            }

                            @Override
                            public void close() {
                                real.close();
                            }
                        };
                    }
                    return result;
                });
        ChunkRepository failingRepository = new Repositories(Map.of("fs", failing), dao,
                new ObjectCodec(CompressionConfig.defaults(), null, null), threads, Clock.systemUTC(), true, Map.of(), 2L << 20)
                .of(failing);
        String id = ids.next();
        snapshots.insert(SnapshotRow.running(id, "src", "lines", SnapshotOrigin.API, "test", Clock.systemUTC().instant()));
        assertThatThrownBy(() -> {
            try (ObjectUpload list = target.upload("src/failing/list"); RepositoryWriter writer = failingRepository.writer(id, list)) {
                byte[] data = random(12, 9 << 20);
                for (int i = 0; i < data.length; i += 100_000) {
                    writer.write(data, i, Math.min(100_000, data.length - i));
                }
                writer.finish();
            }
        }).hasMessageContaining("No space left on device");
        assertThat(commits.get()).isGreaterThanOrEqualTo(2);
        failingRepository.discard(id);
        assertThat(packFiles()).as("the packs committed before and after the failed one are removed").isZero();
        assertThat(dao.packs("fs")).isEmpty();
        try (var files = Files.walk(root)) {
            assertThat(files.filter(f -> f.getFileName().toString().contains(".part")).toList()).as("no partial upload left").isEmpty();
        }
    }

    @Test
    void packsAFailedRunCouldNotDeleteArePrunedOnceItIsNoLongerRunning() throws Exception {
        String id = ids.next();
        snapshots.insert(SnapshotRow.running(id, "src", "lines", SnapshotOrigin.API, "test", Clock.systemUTC().instant()));
        try (ObjectUpload list = target.upload("src/failed/list"); RepositoryWriter writer = repository.writer(id, list)) {
            writer.write(random(10, 5 << 20));
            writer.finish(); // its packs are committed and PENDING; the run then fails without discarding them
        }
        Pruning pruning = new Pruning(Duration.ZERO);
        pruning.pass();
        pruning.pass();
        assertThat(packFiles()).as("the writer still runs: its packs stay").isPositive();
        snapshots.fail(id, Clock.systemUTC().instant(), "the catalog went away");
        pruning.pass();
        pruning.pass();
        assertThat(packFiles()).isZero();
        assertThat(dao.packs("fs")).isEmpty();
    }

    @Test
    void aDamagedChunkFailsTheReadNamingTheChunkAndTheCheckNamesTheSnapshotsItBreaks() throws Exception {
        Taken a = snapshot(random(5, 3 << 20));
        RepositoryCheck check = new RepositoryCheck(repositories, new ObjectCodec(CompressionConfig.defaults(), null, null));
        RepositoryCheck.Report clean = check.check(repository);
        assertThat(clean.damaged()).isEmpty();
        assertThat(clean.chunks()).isEqualTo(a.result().chunkCount());
        assertThat(clean.contentVerified()).isTrue();
        RepositoryDao.PackRow pack = dao.packs("fs").get(0);
        try (RandomAccessFile file = new RandomAccessFile(root.resolve(pack.packKey()).toFile(), "rw")) {
            file.seek(100);
            int b = file.read();
            file.seek(100);
            file.write(b ^ 0xff);
        }
        assertThatThrownBy(() -> restore(a)).isInstanceOf(IOException.class).hasMessageContaining("chunk ")
                .hasMessageContaining(pack.packKey()).hasMessageContaining("damaged in storage");
        RepositoryCheck.Report report = check.check(repository);
        assertThat(report.damaged()).singleElement().satisfies(d -> {
            assertThat(d.pack()).isEqualTo(pack.packKey());
            assertThat(d.snapshots()).containsExactly(a.id());
        });
    }

    @Test
    void aMostlyUnusedPackIsRewrittenItsSnapshotsListsFollowAndTheOldPackIsSweptAfterTheGracePeriod() throws Exception {
        Sparse sparse = aMostlyUnusedPack(21);
        Taken b = sparse.b();
        byte[] second = sparse.second();
        String oldPack = sparse.oldPack();
        Pruning pruning = new Pruning(Duration.ZERO, 0.5);
        String listBefore = Files.readString(root.resolve(b.listKey()));
        assertThat(listBefore).contains(oldPack);

        pruning.pass(); // rewrites the old pack's used chunks into a new one, rewrites B's list, condemns the old pack
        String listAfter = Files.readString(root.resolve(b.listKey()));
        assertThat(listAfter).doesNotContain(oldPack);
        assertThat(restore(b)).as("B reads its chunks from the new pack").isEqualTo(second);
        assertThat(dao.packs("fs", oldPack).orElseThrow().status()).isEqualTo("CONDEMNED");
        assertThat(root.resolve(oldPack)).as("kept for the grace period").exists();
        String sha = snapshots.find(b.id()).orElseThrow().sha256();
        assertThat(sha).as("the catalog holds the rewritten list's SHA-256").isNotEqualTo(b.result().listSha256())
                .isEqualTo(ChunkIds.plain().id(listAfter.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, listAfter.length()));
        assertThat(Files.readString(root.resolve(b.listKey() + ".manifest"))).contains(sha);
        assertThat(dao.acceptedListShas(b.id())).as("the old list stays acceptable (replicas, restores begun before)")
                .contains(b.result().listSha256(), sha);
        assertThat(dao.rewrites("fs")).isEmpty();

        pruning.pass(); // sweeps the old pack
        assertThat(root.resolve(oldPack)).doesNotExist();
        assertThat(dao.packs("fs", oldPack)).isEmpty();
        assertThat(restore(b)).isEqualTo(second);
        pruning.pass();
        assertThat(Files.readString(root.resolve(b.listKey()))).as("a rewritten pack is not rewritten again").isEqualTo(listAfter);
    }

    @Test
    void theRetentionPreviewCountsWhatTheRepackAfterADeletionReclaims() throws Exception {
        largePacks();
        byte[] first = random(31, 10 << 20);
        byte[] second = first.clone();
        System.arraycopy(random(32, 6 << 20), 0, second, 0, 6 << 20);
        Taken a = snapshot(first);
        Taken b = snapshot(second); // shares A's last 4 MiB
        String oldPack = singlePackOf(a);
        long oldBytes = dao.packs("fs", oldPack).orElseThrow().storedBytes();
        List<String> packsOfB = dao.packsOf(b.id(), "fs");

        long preview = new RepositoryPruner(repositories, Duration.ZERO, 0.5).freedBy(List.of(a.id()));
        assertThat(new RepositoryPruner(repositories, Duration.ZERO, 0).freedBy(List.of(a.id())))
                .as("without repacking, a pack B still uses frees nothing").isZero();
        assertThat(preview).as("most of A's pack, which B uses little of").isGreaterThan(oldBytes / 2).isLessThan(oldBytes);

        delete(a);
        Pruning pruning = new Pruning(Duration.ZERO, 0.5);
        pruning.pass(); // repacks
        pruning.pass(); // sweeps the old pack
        assertThat(root.resolve(oldPack)).doesNotExist();
        String newPack = dao.packsOf(b.id(), "fs").stream().filter(k -> !packsOfB.contains(k)).findFirst().orElseThrow();
        assertThat(preview).as("the old pack's bytes less the chunks copied out of it")
                .isEqualTo(oldBytes - dao.packs("fs", newPack).orElseThrow().storedBytes());
    }

    @Test
    void aSnapshotWrittenBeforeChunkRecordsGetsOneFromItsListAndItsPacksAreThenRewritten() throws Exception {
        Sparse sparse = aMostlyUnusedPack(31);
        dao.dropSnapshotChunks(sparse.b().id()); // as a snapshot written before chunk records existed
        new Pruning(Duration.ZERO, 0.5).pass();
        assertThat(Files.readString(root.resolve(sparse.b().listKey()))).doesNotContain(sparse.oldPack());
        assertThat(restore(sparse.b())).isEqualTo(sparse.second());
    }

    @Test
    void aSnapshotWhoseListDoesNotMatchTheCatalogGetsNoChunkRecordAndItsPacksStayWhole() throws Exception {
        Sparse sparse = aMostlyUnusedPack(33);
        dao.dropSnapshotChunks(sparse.b().id());
        jdbi.useHandle(h -> h.execute("UPDATE snapshots SET sha256 = ? WHERE id = ?", "0".repeat(64), sparse.b().id()));
        Pruning pruning = new Pruning(Duration.ZERO, 0.5);
        pruning.pass();
        pruning.pass();
        assertThat(Files.readString(root.resolve(sparse.b().listKey()))).contains(sparse.oldPack());
        assertThat(dao.packs("fs", sparse.oldPack()).orElseThrow().status()).isEqualTo("LIVE");
        assertThat(restore(sparse.b())).isEqualTo(sparse.second());
    }

    @Test
    void oneNodePrunesATargetAtATimeAndADeadHoldersLockExpires() {
        java.time.Instant now = Clock.systemUTC().instant();
        assertThat(dao.lock("fs", "node-a", now, now.plusSeconds(60))).isTrue();
        assertThat(dao.lock("fs", "node-b", now.plusSeconds(1), now.plusSeconds(61))).isFalse();
        assertThat(new RepositoryPruner(repositories, Duration.ZERO).prune(repository, now.plusSeconds(2)).skipped())
                .as("a pass while another node holds the target").isTrue();
        assertThat(dao.lock("fs", "node-a", now.plusSeconds(3), now.plusSeconds(63))).as("its holder again").isTrue();
        assertThat(dao.lock("fs", "node-b", now.plusSeconds(64), now.plusSeconds(124))).as("a lock past its lease").isTrue();
        dao.releaseLock("fs", "node-b");
        assertThat(dao.lock("fs", "node-c", now.plusSeconds(65), now.plusSeconds(125))).isTrue();
    }

    /**
     * A pass that died after replacing a list leaves its journal row: the next pass finishes it
     * (catalog, manifest). One that died before replacing it: the row goes, nothing else changes.
     */
    @Test
    void aRewriteADeadPassLeftIsFinishedOrForgottenByTheNext() throws Exception {
        Taken b = snapshot(random(51, 3 << 20));
        String actual = b.result().listSha256();
        String before = "a".repeat(64);
        jdbi.useHandle(h -> h.execute("UPDATE snapshots SET sha256 = ? WHERE id = ?", before, b.id()));
        dao.journal(new dev.backstop.db.RepackDao.Rewrite(b.id(), "fs", before, actual, b.result().listBytes(),
                (int) b.result().packCount()), Clock.systemUTC().instant());
        Pruning pruning = new Pruning(Duration.ofHours(1), 0.5);
        pruning.pass();
        assertThat(snapshots.find(b.id()).orElseThrow().sha256()).as("the catalog follows the replaced list").isEqualTo(actual);
        assertThat(Files.readString(root.resolve(b.listKey() + ".manifest"))).contains(actual);
        assertThat(dao.rewrites("fs")).isEmpty();

        dao.journal(new dev.backstop.db.RepackDao.Rewrite(b.id(), "fs", actual, "b".repeat(64), 1, 1), Clock.systemUTC().instant());
        pruning.pass();
        assertThat(dao.rewrites("fs")).as("a list never replaced: the row goes").isEmpty();
        assertThat(snapshots.find(b.id()).orElseThrow().sha256()).isEqualTo(actual);
        assertThat(restore(b)).isEqualTo(b.data());
    }

    /**
     * Snapshot A of 10 MiB (one pack), then B sharing A's last 4 MiB, then A deleted: A's pack is
     * mostly unused, and only B names it.
     */
    private record Sparse(Taken b, byte[] second, String oldPack) {}

    private Sparse aMostlyUnusedPack(long seed) throws IOException {
        largePacks();
        byte[] first = random(seed, 10 << 20);
        byte[] second = first.clone();
        System.arraycopy(random(seed + 1, 6 << 20), 0, second, 0, 6 << 20);
        Taken a = snapshot(first);
        Taken b = snapshot(second);
        String oldPack = singlePackOf(a);
        delete(a);
        return new Sparse(b, second, oldPack);
    }

    /** Packs of 16 MiB (the default): a snapshot of a few MiB is one pack. */
    private void largePacks() {
        repositories = new Repositories(Map.of("fs", target), dao, new ObjectCodec(CompressionConfig.defaults(), null, null), threads,
                Clock.systemUTC(), true, Map.of(), 16L << 20);
        repository = repositories.of(target);
    }

    /** The one pack a snapshot of a few MiB wrote (with {@link #largePacks()}). */
    private String singlePackOf(Taken taken) {
        List<String> packs = dao.packsOf(taken.id(), "fs");
        assertThat(packs).hasSize(1);
        return packs.get(0);
    }

    /** Prune passes with a grace period. */
    private final class Pruning {
        private final RepositoryPruner pruner;

        /** Without repacking: these passes only mark and sweep. */
        Pruning(Duration grace) {
            this(grace, 0);
        }

        Pruning(Duration grace, double repackThreshold) {
            this.pruner = new RepositoryPruner(repositories, grace, repackThreshold);
        }

        private java.time.Instant last = java.time.Instant.EPOCH;
        /** Packs the passes rewrote. */
        final java.util.concurrent.atomic.AtomicInteger repacked = new java.util.concurrent.atomic.AtomicInteger();

        void pass() {
            // Each pass at a later instant than the one before, so what one condemns the next may sweep.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1))
                    .until(() -> Clock.systemUTC().instant().isAfter(last));
            last = Clock.systemUTC().instant();
            pruner.pruneAll(last).forEach(o -> repacked.addAndGet(o.repacked().packs()));
        }
    }
}
