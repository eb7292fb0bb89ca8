package dev.backstop.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;

/**
 * A throw-away database on the real local PostgreSQL (127.0.0.1:5432, trust auth, unless
 * BACKSTOP_TEST_PG_HOST / BACKSTOP_TEST_PG_PORT / BACKSTOP_TEST_PG_USER say otherwise). Each instance
 * creates a uniquely named database and drops it on close.
 */
public final class TestPostgres implements AutoCloseable {
    public static final String HOST = env("BACKSTOP_TEST_PG_HOST", "127.0.0.1");
    public static final int PORT = Integer.parseInt(env("BACKSTOP_TEST_PG_PORT", "5432"));
    public static final String USER = env("BACKSTOP_TEST_PG_USER", "postgres");

    private final String database;

    private TestPostgres(String database) {
        this.database = database;
    }

    public static TestPostgres create() throws SQLException {
        String name = "backstop_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16).toLowerCase(Locale.ROOT);
        try (Connection c = admin(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return new TestPostgres(name);
    }

    public String database() {
        return database;
    }

    public String jdbcUrl() {
        return jdbcUrl(HOST, PORT);
    }

    /** The URL through another host and port, such as a proxy in front of the server. */
    public String jdbcUrl(String host, int port) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), USER, "");
    }

    @Override
    public void close() throws SQLException {
        try (Connection c = admin(); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }

    private static Connection admin() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://" + HOST + ":" + PORT + "/postgres", USER, "");
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
