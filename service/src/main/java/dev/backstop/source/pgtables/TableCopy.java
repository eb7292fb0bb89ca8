package dev.backstop.source.pgtables;

import dev.backstop.source.SourceRestorer.Refused;
import dev.backstop.source.StderrTail;
import dev.backstop.source.pgtables.TableSelection.Table;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Moves chosen tables out of a scratch copy (a database restored from a dump, or a cluster
 * recovered to a point) into a NEW schema of the live database, with the stock tools only:
 *
 * <ol>
 *   <li>in the scratch copy, the names are resolved (a name that is not there fails the restore,
 *       naming it), the tables' rows counted, and the tables moved into a schema of the target's name
 *       ({@code ALTER TABLE ... SET SCHEMA} takes their indexes, constraints, owned sequences and
 *       triggers along; a partitioned table takes its partitions); foreign keys to tables that were
 *       not chosen are dropped there and named in the report, since they would bind the copy to the
 *       live tables;</li>
 *   <li>{@code pg_dump --schema} of that schema streams into {@code psql --single-transaction} on the
 *       live database, followed by a check that every table has the rows the scratch copy had: one
 *       transaction, so the live database gains the whole schema or nothing. {@code CREATE SCHEMA}
 *       fails if the name was taken meanwhile, so nothing that exists is touched.</li>
 * </ol>
 */
public final class TableCopy {
    private static final int QUERY_TIMEOUT_SECONDS = 600;
    private static final int LOAD_TIMEOUT_HOURS = 6;

    private TableCopy() {}

    /** What a copy created: each table with its rows, and the foreign keys left out. */
    public record Copied(String schema, String database, List<Table> tables, List<Long> rows, List<String> droppedForeignKeys) {
        /** The restore's detail: rows per table. */
        public String detail() {
            List<String> each = new ArrayList<>();
            for (int i = 0; i < tables.size(); i++) {
                each.add(tables.get(i).text() + " as " + schema + "." + tables.get(i).name() + " (" + rows.get(i) + " rows)");
            }
            return "created schema " + schema + " in database " + database + " with " + tables.size() + " table"
                    + (tables.size() == 1 ? "" : "s") + ": " + String.join(", ", each)
                    + (droppedForeignKeys.isEmpty() ? "" : "; foreign keys to tables not restored were left out: "
                            + String.join(", ", droppedForeignKeys));
        }
    }

    /**
     * At request time: the live database exists, {@code selection.schema()} does not exist in it (a
     * clash is refused, 409), and the role may create schemas there. Touches nothing.
     */
    public static void checkTarget(PgEndpoint live, TableSelection selection) {
        String answer;
        try {
            answer = query(live, "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = '" + selection.schema() + "') || '|' || "
                    + "has_database_privilege(current_database(), 'CREATE')").trim();
        } catch (IOException e) {
            if (e.getMessage().contains("database \"" + live.database() + "\" does not exist")) {
                throw Refused.invalid("target.database " + live.describe() + " does not exist; a table-level restore creates a new "
                        + "schema in an existing database");
            }
            throw new UncheckedIOException(new IOException("cannot check the target database " + live.describe() + ": "
                    + e.getMessage(), e));
        }
        String[] parts = answer.split("\\|");
        if (!parts[0].equals("0")) {
            throw Refused.conflict("schema " + selection.schema() + " already exists in database " + live.database() + "; a "
                    + "table-level restore creates a new schema and never touches existing objects: choose another target.schema");
        }
        if (!parts[1].equals("true")) {
            throw Refused.invalid("role " + live.user() + " may not create schemas in database " + live.database() + "; grant it "
                    + "(GRANT CREATE ON DATABASE " + live.database() + " TO " + live.user() + ") or restore the whole snapshot");
        }
    }

    /**
     * Resolves, moves and copies the selection from {@code scratch} to {@code live} (see the class
     * comment). {@code goingOn} is called while the rows stream and may throw to stop (the live
     * transaction is then rolled back).
     */
    public static Copied copy(PgEndpoint scratch, PgEndpoint live, TableSelection selection, Runnable goingOn) throws IOException {
        List<Table> tables = resolve(scratch, selection);
        List<Long> rows = count(scratch, tables);
        String schema = TableSelection.quote(selection.schema());
        StringBuilder move = new StringBuilder("CREATE SCHEMA " + schema + ";");
        for (Table t : tables) {
            move.append(" ALTER TABLE ").append(t.qualified()).append(" SET SCHEMA ").append(schema).append(';');
        }
        // Partitions follow their partitioned table (pg_dump --schema dumps only what is in the schema).
        move.append(" DO $backstop$ DECLARE r record; BEGIN LOOP SELECT c.oid::regclass AS rel INTO r FROM pg_inherits i "
                + "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relnamespace = '"
                + selection.schema() + "'::regnamespace AND c.relnamespace <> '" + selection.schema() + "'::regnamespace "
                + "AND c.relispartition LIMIT 1; EXIT WHEN NOT FOUND; EXECUTE format('ALTER TABLE %s SET SCHEMA %I', r.rel, '"
                + selection.schema() + "'); END LOOP; END $backstop$;");
        query(scratch, move.toString());
        List<String> foreign = lines(query(scratch, "SELECT conname || ' on ' || conrelid::regclass::text || ' -> ' || "
                + "confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND connamespace = '" + selection.schema()
                + "'::regnamespace AND (SELECT relnamespace FROM pg_class WHERE oid = confrelid) <> '" + selection.schema()
                + "'::regnamespace ORDER BY 1"));
        if (!foreign.isEmpty()) {
            query(scratch, "DO $backstop$ DECLARE r record; BEGIN FOR r IN SELECT conrelid::regclass AS rel, conname FROM pg_constraint "
                    + "WHERE contype = 'f' AND connamespace = '" + selection.schema() + "'::regnamespace AND (SELECT relnamespace "
                    + "FROM pg_class WHERE oid = confrelid) <> '" + selection.schema() + "'::regnamespace LOOP EXECUTE "
                    + "format('ALTER TABLE %s DROP CONSTRAINT %I', r.rel, r.conname); END LOOP; END $backstop$;");
        }
        load(scratch, live, selection.schema(), check(selection.schema(), tables, rows), goingOn);
        return new Copied(selection.schema(), live.database(), tables, rows, foreign);
    }

    /** The chosen names as tables of the scratch copy; a name that matches nothing fails, naming it. */
    static List<Table> resolve(PgEndpoint scratch, TableSelection selection) throws IOException {
        List<String> rows = lines(query(scratch, "SELECT v.o || '|' || v.s || '|' || coalesce(c.relname, '') FROM "
                + selection.values() + " AS v(o, s, t) LEFT JOIN pg_namespace n ON n.nspname = v.s LEFT JOIN pg_class c "
                + "ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND (v.t IS NULL OR c.relname = v.t) "
                + "ORDER BY v.o, c.relname"));
        Set<Table> found = new LinkedHashSet<>();
        List<String> missing = new ArrayList<>();
        for (String row : rows) {
            String[] f = row.split("\\|", -1);
            TableSelection.Name asked = selection.names().get(Integer.parseInt(f[0]));
            if (f[2].isEmpty()) {
                missing.add(asked.text());
            } else {
                found.add(new Table(f[1], f[2]));
            }
        }
        if (!missing.isEmpty()) {
            throw new IOException("not in the restored copy (no such table" + (missing.size() == 1 ? "" : "s") + " there): "
                    + String.join(", ", missing) + "; nothing was created in the live database");
        }
        Map<String, Table> byName = new LinkedHashMap<>();
        for (Table t : found) {
            Table other = byName.putIfAbsent(t.name(), t);
            if (other != null) {
                throw new IOException(other.text() + " and " + t.text() + " would both be " + selection.schema() + "." + t.name()
                        + "; restore them into two schemas, one request each");
            }
        }
        return List.copyOf(found);
    }

    private static List<Long> count(PgEndpoint scratch, List<Table> tables) throws IOException {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < tables.size(); i++) {
            parts.add("SELECT " + i + " || '|' || count(*) FROM " + tables.get(i).qualified());
        }
        Long[] rows = new Long[tables.size()];
        for (String line : lines(query(scratch, String.join(" UNION ALL ", parts)))) {
            String[] f = line.split("\\|");
            rows[Integer.parseInt(f[0])] = Long.parseLong(f[1]);
        }
        return List.of(rows);
    }

    /** Appended to the load: fails its transaction unless every table has the rows the scratch copy had. */
    static String check(String schema, List<Table> tables, List<Long> rows) {
        StringBuilder sql = new StringBuilder("\nDO $backstop$ DECLARE n bigint; BEGIN\n");
        for (int i = 0; i < tables.size(); i++) {
            String target = TableSelection.quote(schema) + "." + TableSelection.quote(tables.get(i).name());
            sql.append("SELECT count(*) INTO n FROM ").append(target).append(";\nIF n <> ").append(rows.get(i))
                    .append(" THEN RAISE EXCEPTION 'backstop: %.% has % rows after the copy, the restored copy had ").append(rows.get(i))
                    .append("', '").append(schema).append("', '").append(tables.get(i).name()).append("', n; END IF;\n");
        }
        return sql.append("END $backstop$;\n").toString();
    }

    /**
     * {@code pg_dump --schema} from the scratch copy into one {@code psql} transaction on the live
     * database, then {@code check}. psql commits only when its input ends, so a failed dump or a stop
     * kills psql first: its transaction is rolled back and nothing is created.
     */
    private static void load(PgEndpoint scratch, PgEndpoint live, String schema, String check, Runnable goingOn) throws IOException {
        Process dump = scratch.processes().start(scratch.pgDump("--format=plain", "--schema=" + schema, "--no-owner",
                "--no-privileges", "--no-publications", "--no-subscriptions", "--no-security-labels"));
        StderrTail dumpErrors = new StderrTail(dump.getErrorStream(), "pg_dump-stderr");
        dumpErrors.start();
        Process psql;
        try {
            psql = live.processes().start(live.psql("--single-transaction", "--file=-"),
                    b -> b.redirectOutput(ProcessBuilder.Redirect.DISCARD));
        } catch (IOException e) {
            dump.destroyForcibly();
            throw e;
        }
        StderrTail loadErrors = new StderrTail(psql.getErrorStream(), "psql-stderr");
        loadErrors.start();
        boolean loaded = false;
        try {
            OutputStream in = psql.getOutputStream();
            try (InputStream out = dump.getInputStream()) {
                byte[] buffer = new byte[1 << 16];
                for (int n = out.read(buffer); n >= 0; n = out.read(buffer)) {
                    goingOn.run();
                    in.write(buffer, 0, n);
                }
            } catch (IOException e) {
                throw new IOException("psql on " + live.describe() + " stopped reading: " + waitForText(psql, loadErrors), e);
            }
            if (!dump.waitFor(60, TimeUnit.SECONDS) || dump.exitValue() != 0) {
                throw new IOException("pg_dump of the restored copy failed: " + dumpErrors.text() + "; nothing was created in the "
                        + "live database");
            }
            in.write(check.getBytes(StandardCharsets.UTF_8));
            in.close(); // psql now commits, if every statement and the check succeeded
            loaded = true;
            if (!psql.waitFor(LOAD_TIMEOUT_HOURS, TimeUnit.HOURS)) {
                throw new IOException("psql did not finish loading into " + live.describe() + " in " + LOAD_TIMEOUT_HOURS + " h");
            }
            if (psql.exitValue() != 0) {
                throw new IOException("loading into " + live.describe() + " failed, so its transaction was rolled back and "
                        + "nothing was created: " + loadErrors.text());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while copying tables", e);
        } finally {
            if (!loaded) {
                psql.destroyForcibly(); // before its input ends: never a commit of part of the schema
            }
            dump.destroyForcibly();
            try {
                psql.waitFor(30, TimeUnit.SECONDS);
                dump.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String waitForText(Process process, StderrTail errors) {
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return errors.text();
    }

    /** {@link PgEndpoint#query} with the table copy's timeout. */
    static String query(PgEndpoint on, String sql) throws IOException {
        return on.query(sql, QUERY_TIMEOUT_SECONDS);
    }

    private static List<String> lines(String text) {
        return text.lines().map(String::trim).filter(l -> !l.isEmpty()).toList();
    }
}
