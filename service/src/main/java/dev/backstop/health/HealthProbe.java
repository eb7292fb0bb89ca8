package dev.backstop.health;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * A health check. Adding one is a one-class job: implement this, and add it to the list the
 * {@link HealthMonitor} is built with. Probes run on the monitor's schedule, never on a request
 * thread; a probe may block (a query, a network call), and the monitor bounds how long it waits.
 */
public interface HealthProbe {

    /** Short stable name, used in logs, metrics and the Dropwizard {@code /healthcheck} page. */
    String name();

    /**
     * The endpoints whose status this probe takes part in. Every probe appears in
     * {@code /health/detailed}; liveness probes must never depend on external systems.
     */
    Set<HealthEndpoint> endpoints();

    /** The component type written on an entry produced when the probe itself fails or times out. */
    default String componentType() {
        return "component";
    }

    /** Observes the component now. Throwing is reported as a fail of {@code name:availability}. */
    List<HealthObservation> observe(Instant now) throws Exception;
}
