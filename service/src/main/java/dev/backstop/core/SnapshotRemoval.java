package dev.backstop.core;

import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotLayout;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Deletes a finished snapshot's objects (data, manifest, verification record) and then ends its row. */
final class SnapshotRemoval {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotService.class);

    private final Map<String, SnapshotService.Binding> bindings;
    private final SnapshotDao dao;
    private final Replicator replicator;

    SnapshotRemoval(Map<String, SnapshotService.Binding> bindings, SnapshotDao dao, Replicator replicator) {
        this.bindings = bindings;
        this.dao = dao;
        this.replicator = replicator;
    }

    /**
     * Deletes a snapshot's objects from every target holding it, then marks its row {@code status}
     * (DELETED, or PRUNED by retention); false when it was already gone.
     */
    boolean remove(SnapshotRow row, String actor, SnapshotStatus status) {
        String id = row.id();
        if (row.status() == SnapshotStatus.RUNNING) {
            throw BackstopException.conflict("snapshot " + id + " is still running; delete it once it has finished");
        }
        if (row.status() == SnapshotStatus.DELETED || row.status() == SnapshotStatus.PRUNED) {
            return false;
        }
        SnapshotService.Binding binding = bindings.get(row.sourceName());
        StorageTarget target = binding == null ? null : binding.target();
        List<StorageTarget> holding;
        if (replicator != null) {
            holding = replicator.holding(row);
        } else {
            holding = target != null && (row.storageTarget() == null || row.storageTarget().equals(target.name()))
                    ? List.of(target) : List.of();
        }
        if (holding.isEmpty()) {
            throw BackstopException.conflict("snapshot " + id + " is on storage target '" + row.storageTarget()
                    + "', which is not configured for source '" + row.sourceName() + "'");
        }
        for (StorageTarget holder : holding) {
            try {
                if (row.manifestKey() != null) {
                    holder.delete(SnapshotLayout.verificationKey(row.manifestKey()));
                    holder.delete(row.manifestKey());
                }
                if (row.storageKey() != null) {
                    holder.delete(row.storageKey());
                }
            } catch (IOException e) {
                throw new BackstopException(ProblemType.SERVICE_UNAVAILABLE, "cannot delete the objects of snapshot " + id
                        + " from " + holder.name() + ": " + e.getMessage() + "; the snapshot stays listed, retry later", e);
            }
        }
        dao.markRemoved(id, status);
        LOG.info("Snapshot {} of {} {} by {}", id, row.sourceName(), status == SnapshotStatus.PRUNED ? "pruned" : "deleted", actor);
        return true;
    }

}
