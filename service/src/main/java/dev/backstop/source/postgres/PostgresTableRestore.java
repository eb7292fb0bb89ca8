package dev.backstop.source.postgres;

import dev.backstop.source.SourceRestorer.Fresh;
import dev.backstop.source.SourceRestorer.Plan;
import dev.backstop.source.pgtables.PgEndpoint;
import dev.backstop.source.pgtables.TableCopy;
import dev.backstop.source.pgtables.TableSelection;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A table-level restore of a {@code postgres} snapshot: the dump streams into a scratch database on
 * the source's server ({@code <database>_undo_<id>}), the chosen tables move from there into a new
 * schema of the live database ({@link TableCopy}), and the scratch database is dropped whatever
 * happens. No scratch cluster: the dump is the snapshot.
 */
final class PostgresTableRestore {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresTableRestore.class);

    private final PostgresSourceFactory pg;
    private final PostgresRestorer restorer;

    PostgresTableRestore(PostgresSourceFactory pg, PostgresRestorer restorer) {
        this.pg = pg;
        this.restorer = restorer;
    }

    private PgEndpoint endpoint(String database) {
        return new PgEndpoint(pg.host(), pg.port(), pg.user(), database, pg.processes(),
                tool -> pg.pgDump().replaceAll("pg_dump$", tool));
    }

    Plan plan(Map<String, String> target, List<String> names) {
        TableSelection selection = TableSelection.parse(names, target);
        TableCopy.checkTarget(endpoint(target.get("database")), selection);
        return new Plan("postgres:" + pg.host() + ":" + pg.port() + "/" + target.get("database") + "/" + selection.schema(), target,
                false, false, false, List.of(), null, names);
    }

    private static String scratch(String database, String restoreId) {
        return PostgresRestorer.truncate(database, 40) + "_undo_" + PostgresRestorer.suffix(restoreId);
    }

    Fresh open(Plan plan, String restoreId, LongConsumer progress) throws Exception {
        TableSelection selection = TableSelection.parse(plan.tables(), plan.target());
        String database = plan.target().get("database");
        String scratch = scratch(database, restoreId);
        try (Connection c = restorer.maintenance(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE \"" + scratch + "\"");
        }
        return new Fresh() {
            @Override
            public void write(InputStream raw) throws Exception {
                restorer.dumps().pgRestore(scratch, raw, null, 1, progress);
            }

            @Override
            public String commit() throws Exception {
                try {
                    return TableCopy.copy(endpoint(scratch), endpoint(database), selection, () -> progress.accept(0)).detail()
                            + ", as they were in the snapshot";
                } finally {
                    discard();
                }
            }

            @Override
            public void discard() {
                drop(scratch);
            }
        };
    }

    private void drop(String scratch) {
        try (Connection c = restorer.maintenance()) {
            PostgresRestorer.drop(c, scratch);
        } catch (SQLException e) {
            LOG.warn("Cannot drop the scratch database {}: {}", scratch, e.getMessage());
        }
    }

    /** The dump's table of contents ({@code pg_restore --list} on the stream) says what a real run would create. */
    String dryRun(Plan plan, InputStream raw) throws IOException {
        TableSelection selection = TableSelection.parse(plan.tables(), plan.target());
        Process list = pg.processes().start(List.of(pg.pgDump().replaceAll("pg_dump$", "pg_restore"), "--list"),
                b -> b.redirectError(ProcessBuilder.Redirect.DISCARD));
        java.util.concurrent.CompletableFuture<String> listing = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
        try (OutputStream in = list.getOutputStream()) {
            raw.transferTo(in);
        } catch (IOException listed) {
            // pg_restore has read the table of contents and exited; the rest is still verified below
        }
        raw.transferTo(OutputStream.nullOutputStream());
        try {
            if (!list.waitFor(60, TimeUnit.SECONDS) || list.exitValue() != 0) {
                return "; cannot list the dump's tables (pg_restore --list failed)";
            }
            return selection.dryRun(listing.get(60, TimeUnit.SECONDS).lines().toList(), plan.target().get("database"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while listing the dump", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return "; cannot list the dump's tables: " + e.getMessage();
        } finally {
            list.destroyForcibly();
        }
    }

    void discardLeftovers(Map<String, String> target, String restoreId) {
        String database = target.get("database");
        if (database != null && database.matches("[a-z_][a-z0-9_]{0,62}")) {
            drop(scratch(database, restoreId));
        }
    }
}
