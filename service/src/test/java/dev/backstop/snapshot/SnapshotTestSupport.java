package dev.backstop.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.support.TestPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.TreeMap;

/** The snapshot tests' fixture and helpers, for tests in other packages (restores). */
public final class SnapshotTestSupport {
    private SnapshotTestSupport() {}

    /** Real PostgreSQL database, S3Proxy, gpg key pair and filesystem target. */
    public record Fixture(SnapshotFixture inner) implements AutoCloseable {
        public Path dir() {
            return inner.dir;
        }

        public Path fsRoot() {
            return inner.fsRoot;
        }

        public TestPostgres postgres() {
            return inner.postgres;
        }

        @Override
        public void close() throws Exception {
            inner.close();
        }
    }

    public static Fixture fixture() throws Exception {
        return new Fixture(new SnapshotFixture());
    }

    /** Writes an encrypted-snapshot config (storage, keys) plus the given {@code sources:} block; returns its path. */
    public static String config(Fixture fixture, String name, String sourcesYaml) {
        try {
            return fixture.inner().writeConfig(name, fixture.inner().baseConfig(true) + sourcesYaml).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode snapshot(int port, String source) {
        return SnapshotFixture.snapshot(port, source);
    }

    public static TreeMap<String, String> tree(Path root) throws Exception {
        return SnapshotRoundTripTest.tree(root);
    }

    public static java.util.List<java.util.List<String>> rows(Connection connection, String query) throws Exception {
        return SnapshotRoundTripTest.rows(connection, query);
    }

    public static String fingerprint(Connection connection, String table) throws Exception {
        return SnapshotRoundTripTest.tableFingerprint(connection, table);
    }
}
