package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.resilience.ThreadPools;
import dev.backstop.storage.StorageTarget;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/**
 * The repository of every storage target, and whether new snapshots are written into them
 * ({@code snapshots.format: chunked}, the default) or as one object each ({@code object}).
 */
public final class Repositories {
    private final Map<String, ChunkRepository> byTarget = new LinkedHashMap<>();
    private final RepositoryDao dao;
    private final boolean chunked;
    private final Map<String, Boolean> bySource;
    private final ExecutorService readers;
    private final int readAhead;

    public Repositories(Map<String, StorageTarget> targets, RepositoryDao dao, ObjectCodec codec, ThreadPools threads, Clock clock,
            boolean chunked, Map<String, String> sourceFormats, long packSize) {
        this.dao = dao;
        this.chunked = chunked;
        this.bySource = new java.util.HashMap<>();
        sourceFormats.forEach((source, format) -> bySource.put(source, "chunked".equals(format)));
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        ExecutorService encoders = threads.fixed("chunk-encode", cores);
        ExecutorService sealers = threads.elastic("pack-seal", java.time.Duration.ofSeconds(30));
        this.readers = threads.fixed("chunk-read", cores + 2);
        this.readAhead = cores + 2;
        ChunkKeys keys = new ChunkKeys(dao, codec, clock);
        targets.values().forEach(target -> byTarget.put(target.name(),
                new ChunkRepository(target, dao, codec, keys, encoders, sealers, cores, clock, packSize)));
    }

    /** Whether new snapshots of {@code source} are chunked ({@code sources[].format}, else {@code snapshots.format}). */
    public boolean chunked(String source) {
        return bySource.getOrDefault(source, chunked);
    }

    public ChunkRepository of(StorageTarget target) {
        ChunkRepository repository = byTarget.get(target.name());
        if (repository == null) {
            throw new IllegalArgumentException("no repository for storage target " + target.name());
        }
        return repository;
    }

    public ExecutorService readers() {
        return readers;
    }

    public int readAhead() {
        return readAhead;
    }

    public RepositoryDao dao() {
        return dao;
    }

    public java.util.Collection<ChunkRepository> all() {
        return byTarget.values();
    }
}
