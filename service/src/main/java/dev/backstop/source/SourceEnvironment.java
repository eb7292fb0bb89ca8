package dev.backstop.source;

import com.codahale.metrics.MetricRegistry;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.resilience.Guard;
import dev.backstop.resilience.ThreadPools;
import dev.backstop.storage.StorageTarget;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;

/**
 * What sources may use from the running service.
 *
 * @param stagingDirectory scratch space for sources that must copy before streaming (SQLite), and drills
 * @param connections      how a source's database connections are opened: through its resilience guard
 * @param storage          the source's own storage target and codec, for a source type that keeps objects
 *                         of its own beside its snapshots (postgres-cluster's WAL); null where a command
 *                         runs without storage ({@code check})
 * @param snapshots        how a source asks for a snapshot of itself outside its schedule (postgres-cluster
 *                         takes a base backup at once when its WAL chain breaks); {@link SnapshotRequests#NONE}
 *                         in commands
 */
public record SourceEnvironment(Path stagingDirectory, Connections connections, Storage storage, SnapshotRequests snapshots) {

    /** Asks the service for a snapshot of a source now. */
    @FunctionalInterface
    public interface SnapshotRequests {
        /**
         * Starts a snapshot of {@code source} in the background; throws when it cannot start now
         * (one is running, the service is stopping), so the caller asks again later.
         */
        void requestNow(String source, String reason);

        SnapshotRequests NONE = (source, reason) -> {
            throw new IllegalStateException("this command takes no snapshots on request");
        };
    }

    public SourceEnvironment {
        snapshots = snapshots == null ? SnapshotRequests.NONE : snapshots;
    }

    public SourceEnvironment(Path stagingDirectory, Connections connections, Storage storage) {
        this(stagingDirectory, connections, storage, SnapshotRequests.NONE);
    }

    /** Opens a connection to a source's database, through that source's guard (or directly). */
    @FunctionalInterface
    public interface Connections {
        Connection open(String source, Guard.SqlCall<Connection> connect) throws SQLException;

        Connections DIRECT = (source, connect) -> connect.call();
    }

    /**
     * The source's storage target (behind its guard), how objects are encoded (the snapshots' zstd
     * level and OpenPGP keys), and the service's metrics, executors and clock.
     */
    public record Storage(StorageTarget target, ObjectCodec codec, MetricRegistry metrics, ThreadPools threads, Clock clock) {}

    /** Unguarded connections and no storage (CLI checks and tests). */
    public SourceEnvironment(Path stagingDirectory) {
        this(stagingDirectory, Connections.DIRECT, null);
    }

    public SourceEnvironment(Path stagingDirectory, Connections connections) {
        this(stagingDirectory, connections, null);
    }

    /** The storage, or a failure naming what needs it. */
    public Storage requireStorage(String what) {
        if (storage == null) {
            throw new IllegalStateException(what + " needs storage, which this command does not open");
        }
        return storage;
    }
}
