package dev.backstop.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.Manifest;
import dev.backstop.storage.ObjectUpload;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a snapshot run writes its data and manifest: one object through the pipeline
 * ({@code format: object}), or chunks into the target's repository with a chunk list
 * ({@code chunked}). Either returns the row as COMPLETED once everything it wrote is durable; the
 * caller ({@link SnapshotService}) records it, or removes what was written after a failure.
 */
final class SnapshotWrites {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotService.class);

    /** Bytes read from the source and stored so far, told after every write the source makes. */
    @FunctionalInterface
    interface Progress {
        void bytes(long read, long stored);
    }

    private final SnapshotPipeline pipeline;
    private final dev.backstop.repository.Repositories repositories;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final String version;

    SnapshotWrites(SnapshotPipeline pipeline, dev.backstop.repository.Repositories repositories, ObjectMapper mapper, Clock clock,
            String version) {
        this.pipeline = pipeline;
        this.repositories = repositories;
        this.mapper = mapper;
        this.clock = clock;
        this.version = version;
    }

    /** One object through the pipeline, then the manifest. */
    SnapshotRow object(SnapshotRow row, SnapshotService.Binding binding, String dataKey, String manifestKey, BooleanSupplier stop,
            Progress progress) throws IOException {
        Map<String, String> tools = binding.source().toolVersions();
        SnapshotPipeline.Result result;
        try (ObjectUpload upload = binding.target().upload(dataKey)) {
            result = pipeline.run(binding.source(), upload, stop, progress::bytes);
            if (stop.getAsBoolean()) {
                throw new IOException(dev.backstop.pipeline.StoppableOutputStream.STOPPED);
            }
            upload.commit();
        }
        Instant finished = clock.instant();
        String fingerprint = pipeline.encryptionFingerprint();
        Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, row.id(), row.sourceName(), row.sourceType(), version, tools,
                row.startedAt(), finished, dataKey, binding.source().extension(), result.rawBytes(), result.storedBytes(),
                result.sha256(), pipeline.compression(),
                fingerprint == null ? null : new Manifest.Encryption("openpgp", fingerprint),
                result.report().filesChanged(), result.report().filesVanished(), null);
        binding.target().put(manifestKey, mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest), "application/json");
        return row.completed(finished, result.rawBytes(), result.storedBytes(), result.sha256(), binding.target().name(), dataKey,
                manifestKey, pipeline.compression(), fingerprint, mapper.writeValueAsString(tools),
                result.report().filesChanged().size(), result.report().filesVanished().size());
    }

    /**
     * A chunked snapshot: the source's stream is cut into chunks stored once in the target's
     * repository; the chunk list and the manifest are written, the packs it wrote published (LIVE),
     * and only then is the row COMPLETED.
     */
    SnapshotRow chunked(SnapshotRow row, SnapshotService.Binding binding, String dataKey, String manifestKey, BooleanSupplier stop,
            Progress progress) throws IOException {
        Map<String, String> tools = binding.source().toolVersions();
        dev.backstop.repository.ChunkRepository repository = repositories.of(binding.target());
        dev.backstop.repository.RepositoryWriter.Result result;
        dev.backstop.source.SourceReport report;
        String keyId;
        long[] reused = {0, 0};
        try (ObjectUpload list = binding.target().upload(dataKey);
                dev.backstop.repository.RepositoryWriter writer = repository.writer(row.id(), list)) {
            dev.backstop.repository.DirectoryFiles[] files = new dev.backstop.repository.DirectoryFiles[1];
            report = pipeline.runInto(binding.source(), writer, writer::rawBytes, writer::addedBytes, stop, progress::bytes,
                    flush -> files[0] = repository.files(writer, flush, row.id(), row.sourceName()));
            if (files[0] != null) {
                reused = files[0].finish();
            }
            if (stop.getAsBoolean()) {
                throw new IOException(dev.backstop.pipeline.StoppableOutputStream.STOPPED);
            }
            result = writer.finish();
            keyId = writer.keyId();
            list.commit();
        }
        Instant finished = clock.instant();
        String fingerprint = pipeline.encryptionFingerprint();
        Manifest manifest = new Manifest(Manifest.CHUNKED_FORMAT_VERSION, row.id(), row.sourceName(), row.sourceType(), version,
                tools, row.startedAt(), finished, dataKey, binding.source().extension(), result.rawBytes(), result.listBytes(),
                result.listSha256(), pipeline.compression(),
                fingerprint == null ? null : new Manifest.Encryption("openpgp", fingerprint),
                report.filesChanged(), report.filesVanished(),
                new Manifest.Chunks(SnapshotRow.CHUNKED, keyId == null ? dev.backstop.pipeline.ChunkIds.PLAIN
                        : dev.backstop.pipeline.ChunkIds.KEYED, keyId, result.chunkCount(), result.packCount(),
                        result.chunkBytes(), result.addedBytes()));
        binding.target().put(manifestKey, mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest), "application/json");
        repository.publish(row.id());
        LOG.info("Snapshot {} of {}: {} bytes in {} chunks, {} stored bytes new in {} packs; {} unchanged files ({} bytes) not read",
                row.id(), row.sourceName(), result.rawBytes(), result.chunkCount(), result.addedBytes(), result.packsWritten(),
                reused[0], reused[1]);
        return row.completed(finished, result.rawBytes(), result.chunkBytes(), result.listSha256(), binding.target().name(), dataKey,
                manifestKey, pipeline.compression(), fingerprint, mapper.writeValueAsString(tools),
                report.filesChanged().size(), report.filesVanished().size()).chunked(result.addedBytes());
    }
}
