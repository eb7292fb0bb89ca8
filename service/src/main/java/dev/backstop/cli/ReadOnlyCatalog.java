package dev.backstop.cli;

import io.dropwizard.db.DataSourceFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** The catalog as a command that only reads opens it: never created, never migrated. */
final class ReadOnlyCatalog {
    private ReadOnlyCatalog() {}

    /**
     * The catalog's data source settings, changed so that connecting cannot create it: an H2 URL
     * gets {@code IFEXISTS=TRUE}. Throws when an H2 catalog file does not exist yet.
     */
    static DataSourceFactory existing(DataSourceFactory catalog) {
        String url = catalog.getUrl();
        if (url == null || !url.startsWith("jdbc:h2:")) {
            return catalog;
        }
        String path = url.substring("jdbc:h2:".length()).split(";", 2)[0];
        if (path.startsWith("file:")) {
            path = path.substring("file:".length());
        }
        Path file = Path.of(path + ".mv.db").toAbsolutePath().normalize();
        if (!path.startsWith("mem:") && !Files.exists(file)) {
            throw new IllegalStateException("no catalog yet at catalog.url (" + url + "): " + file
                    + " does not exist; the server creates it at its first start");
        }
        DataSourceFactory copy = new DataSourceFactory();
        copy.setDriverClass(catalog.getDriverClass());
        copy.setUser(catalog.getUser());
        copy.setPassword(catalog.getPassword());
        copy.setUrl(url.toUpperCase(java.util.Locale.ROOT).contains("IFEXISTS") ? url : url + ";IFEXISTS=TRUE");
        copy.setMaxWaitForConnection(catalog.getMaxWaitForConnection());
        copy.setInitialSize(1);
        copy.setMinSize(1);
        copy.setMaxSize(2);
        return copy;
    }

    /** Whether the catalog holds no schema yet (nothing was ever migrated into it). */
    static boolean empty(java.sql.Connection c) throws java.sql.SQLException {
        try (var tables = c.getMetaData().getTables(null, null, "%", new String[] {"TABLE"})) {
            while (tables.next()) {
                if (tables.getString("TABLE_NAME").equalsIgnoreCase("databasechangelog")) {
                    return false;
                }
            }
        }
        return true;
    }
}
