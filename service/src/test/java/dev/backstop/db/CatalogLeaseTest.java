package dev.backstop.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.support.TestPostgres;
import io.dropwizard.db.DataSourceFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Against a real PostgreSQL catalog: who may use it at once. */
class CatalogLeaseTest {
    private TestPostgres postgres;
    private DataSourceFactory catalog;

    @BeforeEach
    void createCatalog() throws Exception {
        postgres = TestPostgres.create();
        catalog = new DataSourceFactory();
        catalog.setDriverClass("org.postgresql.Driver");
        catalog.setUrl(postgres.jdbcUrl());
        catalog.setUser(TestPostgres.USER);
        catalog.setPassword("");
    }

    @AfterEach
    void dropCatalog() throws Exception {
        postgres.close();
    }

    @Test
    void aSecondNodeAloneOnTheCatalogIsRefusedAndToldWhichNodeHasIt() {
        try (CatalogLease first = CatalogLease.acquire(catalog, "node-a", false)) {
            assertThatThrownBy(() -> CatalogLease.acquire(catalog, "node-b", false))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Another Backstop node is using the catalog")
                    .hasMessageContaining("backstop node node-a")
                    .hasMessageContaining("the server is running; use the API");
            assertThatThrownBy(() -> CatalogLease.acquire(catalog, "node-c", true)).as("nor can a clustered node join it")
                    .hasMessageContaining("backstop node node-a");
        }
        // Released with the first node: the next one starts.
        CatalogLease.acquire(catalog, "node-b", false).close();
    }

    @Test
    void clusteredNodesShareTheCatalogButANodeAloneCannotJoinThem() {
        try (CatalogLease a = CatalogLease.acquire(catalog, "node-a", true);
                CatalogLease b = CatalogLease.acquire(catalog, "node-b", true)) {
            assertThatThrownBy(() -> CatalogLease.acquire(catalog, "node-c", false))
                    .hasMessageContaining("backstop node node-a (clustered)")
                    .hasMessageContaining("backstop node node-b (clustered)");
        }
    }

    @Test
    void aLeaseLostWithItsConnectionIsTakenAgain() throws Exception {
        try (CatalogLease lease = CatalogLease.acquire(catalog, "node-a", false)) {
            int before = lockHolder();
            assertThat(before).isPositive();
            try (var c = postgres.connect(); var s = c.createStatement()) {
                s.execute("SELECT pg_terminate_backend(" + before + ")"); // as a database restart would
            }
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> {
                int now = lockHolder();
                return now > 0 && now != before;
            });
            assertThatThrownBy(() -> CatalogLease.acquire(catalog, "node-b", false)).hasMessageContaining("backstop node node-a");
        }
    }

    /** The backend pid of node-a's session holding the lease, or 0. */
    private int lockHolder() throws Exception {
        try (var c = postgres.connect(); var s = c.createStatement(); var r = s.executeQuery("""
                SELECT coalesce(max(a.pid), 0) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'backstop node node-a'
                """)) {
            r.next();
            return r.getInt(1);
        }
    }
}
