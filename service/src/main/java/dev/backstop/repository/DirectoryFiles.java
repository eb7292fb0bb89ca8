package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import dev.backstop.db.RepositoryDao.FileChunk;
import dev.backstop.source.FileChunks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * {@link FileChunks} for one chunked snapshot: every file's chunks are recorded in the catalog
 * ({@code snapshot_files}) under its identity; a file whose identity is the parent snapshot's
 * reuses the parent's chunks. A parent of at most {@link #WHOLE_PARENT} file chunks is read in one
 * query; a larger one a directory at a time, so memory holds at most that many entries or one
 * directory's, never a large tree's.
 */
public final class DirectoryFiles implements FileChunks {
    private static final int BATCH = 500;
    /** File chunks of a parent read in one query rather than a query a directory (a few MB at most). */
    static final long WHOLE_PARENT = 20_000;

    /** Flushes what the source wrote into the writer (the pipeline's buffers). */
    @FunctionalInterface
    public interface Flush {
        void flush() throws IOException;
    }

    private final RepositoryWriter writer;
    private final Flush flush;
    private final RepositoryDao dao;
    private final String snapshotId;
    private final String parentId;
    private final List<FileChunk> rows = new ArrayList<>();
    private final List<String> rowDirs = new ArrayList<>();
    private String loadedDir;
    private Map<String, List<RepositoryDao.ParentChunk>> parentFiles = Map.of();
    /** Whether {@link #parentFiles} holds the whole parent (it was small enough), read once. */
    private Boolean wholeParent;
    private final long wholeParentLimit;
    private long reused;
    private long reusedBytes;

    public DirectoryFiles(RepositoryWriter writer, Flush flush, RepositoryDao dao, String snapshotId, String parentId) {
        this(writer, flush, dao, snapshotId, parentId, WHOLE_PARENT);
    }

    /** As the public constructor, reading a parent whole up to {@code wholeParentLimit} file chunks (tests take both paths). */
    DirectoryFiles(RepositoryWriter writer, Flush flush, RepositoryDao dao, String snapshotId, String parentId, long wholeParentLimit) {
        this.wholeParentLimit = wholeParentLimit;
        this.writer = writer;
        this.flush = flush;
        this.dao = dao;
        this.snapshotId = snapshotId;
        this.parentId = parentId;
    }

    @Override
    public boolean reuse(String path, Identity identity) throws IOException {
        if (parentId == null) {
            return false;
        }
        if (wholeParent == null) {
            wholeParent = dao.fileChunkCount(parentId) <= wholeParentLimit;
            if (wholeParent) {
                parentFiles = byPath(dao.parentFiles(writer.targetName(), parentId));
            }
        }
        if (!wholeParent) {
            String dir = dirHash(path);
            if (!dir.equals(loadedDir)) {
                parentFiles = byPath(dao.parentFilesIn(writer.targetName(), parentId, dir));
                loadedDir = dir;
            }
        }
        List<RepositoryDao.ParentChunk> before = parentFiles.get(path);
        if (before == null || before.isEmpty()) {
            return false;
        }
        RepositoryDao.ParentChunk first = before.get(0);
        if (first.size() != identity.size() || first.mtimeNs() != identity.mtimeNs() || first.ctimeNs() != identity.ctimeNs()
                || first.inode() != identity.inode()) {
            return false;
        }
        List<RepositoryDao.ChunkRow> located = new ArrayList<>();
        for (RepositoryDao.ParentChunk chunk : before) {
            RepositoryDao.ChunkRow row = chunk.reusable();
            if (row == null) {
                return false; // a chunk's pack is condemned or gone: the file is read
            }
            located.add(row);
        }
        flush.flush();
        List<Map.Entry<String, Integer>> chunks = before.stream().map(c -> Map.entry(c.chunkId(), c.rawLength())).toList();
        if (!writer.reuseLocated(located)) {
            return false; // a chunk was pruned meanwhile: the file is read
        }
        record(path, identity, chunks);
        reused++;
        reusedBytes += identity.size();
        return true;
    }

    private static Map<String, List<RepositoryDao.ParentChunk>> byPath(List<RepositoryDao.ParentChunk> chunks) {
        Map<String, List<RepositoryDao.ParentChunk>> files = new HashMap<>();
        for (RepositoryDao.ParentChunk chunk : chunks) {
            files.computeIfAbsent(chunk.path(), p -> new ArrayList<>()).add(chunk);
        }
        return files;
    }

    @Override
    public void startFile() throws IOException {
        startFile(1);
    }

    @Override
    public void startFile(int alignment) throws IOException {
        flush.flush();
        writer.startFile(alignment);
    }

    @Override
    public void endFile(String path, Identity identity) throws IOException {
        flush.flush();
        record(path, identity, writer.endFile());
    }

    private void record(String path, Identity identity, List<Map.Entry<String, Integer>> chunks) {
        if (chunks.isEmpty() || identity.size() < 0) {
            return; // an empty file, or one never to be reused (it changed while read; a base backup's): nothing to keep
        }
        String dir = dirHash(path);
        for (int i = 0; i < chunks.size(); i++) {
            rows.add(new FileChunk(path, identity.size(), identity.mtimeNs(), identity.ctimeNs(), identity.inode(), i,
                    chunks.get(i).getKey(), chunks.get(i).getValue()));
            rowDirs.add(dir);
        }
        if (rows.size() >= BATCH) {
            flushRows();
        }
    }

    private void flushRows() {
        if (!rows.isEmpty()) {
            dao.insertFiles(snapshotId, rowDirs, rows);
            rows.clear();
            rowDirs.clear();
        }
    }

    /** Records what is left; returns how many files were reused unread, and their bytes. */
    public long[] finish() {
        flushRows();
        return new long[] {reused, reusedBytes};
    }

    static String dirHash(String path) {
        int slash = path.lastIndexOf('/');
        String dir = slash < 0 ? "" : path.substring(0, slash);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(dir.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
