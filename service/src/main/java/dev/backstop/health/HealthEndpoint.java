package dev.backstop.health;

/** The admin endpoints that publish health documents. */
public enum HealthEndpoint {
    /** {@code /health/live}: the process can make progress. Never depends on external systems. */
    LIVE("/health/live"),
    /** {@code /health/ready}: the critical dependencies answer. */
    READY("/health/ready"),
    /** {@code /health/detailed}: every probe. */
    DETAILED("/health/detailed");

    private final String path;

    HealthEndpoint(String path) {
        this.path = path;
    }

    public String path() {
        return path;
    }
}
