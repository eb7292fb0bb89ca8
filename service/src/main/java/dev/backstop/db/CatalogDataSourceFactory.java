package dev.backstop.db;

import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.util.Duration;

/**
 * {@code catalog:} Dropwizard's data source settings with defaults chosen for the catalog: an H2 file
 * under ./var, a short wait for a connection (health and API calls should fail fast, not queue), and
 * a connection check on borrow so the pool heals by itself once a restarted database is back.
 * Any key set in config.yml overrides the default here, one key at a time.
 */
public class CatalogDataSourceFactory extends DataSourceFactory {
    public CatalogDataSourceFactory() {
        setDriverClass("org.h2.Driver");
        setUrl("jdbc:h2:./var/catalog");
        setUser("backstop");
        setPassword("");
        setMaxWaitForConnection(Duration.seconds(1));
        setValidationQueryTimeout(Duration.seconds(2));
        setCheckConnectionOnBorrow(true);
        setAutoCommitByDefault(true);
        setValidationInterval(Duration.seconds(1));
        setMinSize(1);
        setInitialSize(1);
        setMaxSize(16);
    }
}
