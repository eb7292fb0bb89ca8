package dev.backstop.model;

import java.util.function.Predicate;

/**
 * This service instance as the catalog knows it. Rows a node is working on carry its id, so that a
 * node restarting in a cluster fails only its own interrupted work, and work of a node that died can
 * be recognised by the others.
 *
 * @param id        the scheduler instance id ({@code scheduler.instanceId}, by default the host name)
 * @param clustered whether other nodes share the catalog
 * @param alive     tells whether another node is still alive (always true outside a cluster)
 */
public record Node(String id, boolean clustered, Predicate<String> alive) {

    /** A node alone on its catalog (the default, and every CLI command). */
    public static Node standalone(String id) {
        return new Node(id, false, other -> true);
    }

    /** Whether a row owned by {@code owner} belongs to a node known to be dead. */
    public boolean isDead(String owner) {
        return clustered && owner != null && !owner.equals(id) && !alive.test(owner);
    }
}
