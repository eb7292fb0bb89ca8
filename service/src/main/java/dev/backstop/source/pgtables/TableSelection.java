package dev.backstop.source.pgtables;

import dev.backstop.source.SourceRestorer.Refused;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The tables of a table-level restore as a request names them ({@code orders}, {@code sales.orders},
 * {@code sales.*} for every table of a schema) and the new schema they go to. Names are PostgreSQL's
 * unquoted identifiers (lowercase letters, digits, {@code _}, {@code $}); they are always quoted in SQL.
 */
public record TableSelection(List<Name> names, String schema) {
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_$]{0,62}");
    /** More than this is a schema's worth: name the schema ({@code schema.*}) instead. */
    static final int MAX_NAMES = 1000;

    /** A table ({@code table} set) or every table of a schema ({@code table} null). */
    public record Name(String schema, String table) {
        public String text() {
            return schema + "." + (table == null ? "*" : table);
        }
    }

    /** A resolved table, as it is named where it was and where it goes. */
    public record Table(String schema, String name) {
        public String qualified() {
            return quote(schema) + "." + quote(name);
        }

        public String text() {
            return schema + "." + name;
        }
    }

    public TableSelection {
        names = List.copyOf(names);
    }

    /**
     * Parses a request's {@code tables} and {@code target.schema}; a mistake is refused (422) naming
     * the entry. {@code target} may hold only {@code database} and {@code schema}.
     */
    public static TableSelection parse(List<String> tables, Map<String, String> target) {
        for (String key : target.keySet()) {
            if (!key.equals("database") && !key.equals("schema")) {
                throw Refused.invalid("unknown target key '" + key + "'; a table-level restore takes target.database (the live "
                        + "database) and target.schema (a new schema the tables are created in)");
            }
        }
        String database = target.get("database");
        if (database == null || !IDENTIFIER.matcher(database).matches()) {
            throw Refused.invalid("target.database is required: the existing database the tables are restored into (lowercase "
                    + "letters, digits and '_')");
        }
        String schema = target.get("schema");
        if (schema == null || !IDENTIFIER.matcher(schema).matches() || schema.startsWith("pg_")) {
            throw Refused.invalid("target.schema is required: the name of a NEW schema the tables are created in (lowercase "
                    + "letters, digits and '_', not starting with pg_)");
        }
        if (tables == null || tables.isEmpty()) {
            throw Refused.invalid("tables is empty: name at least one table (schema.table, or schema.* for a whole schema)");
        }
        if (tables.size() > MAX_NAMES) {
            throw Refused.invalid("tables names " + tables.size() + " entries; name at most " + MAX_NAMES + " (schema.* names "
                    + "every table of a schema)");
        }
        Set<Name> names = new LinkedHashSet<>();
        for (String entry : tables) {
            names.add(name(entry));
        }
        return new TableSelection(new ArrayList<>(names), schema);
    }

    private static Name name(String entry) {
        if (entry == null) {
            throw Refused.invalid("tables holds a null entry; give table names such as public.orders");
        }
        String[] parts = entry.split("\\.", -1);
        if (parts.length > 2) {
            throw Refused.invalid("tables entry '" + entry + "' has more than one '.'; give schema.table or table");
        }
        String schema = parts.length == 2 ? parts[0] : "public";
        String table = parts[parts.length - 1];
        if (!IDENTIFIER.matcher(schema).matches() || !(table.equals("*") && parts.length == 2 || IDENTIFIER.matcher(table).matches())) {
            throw Refused.invalid("tables entry '" + entry + "' is not a table name: give schema.table, table (in public) or "
                    + "schema.* with lowercase, unquoted names");
        }
        return new Name(schema, table.equals("*") ? null : table);
    }

    /** The entries as they were asked for, for messages. */
    public String text() {
        return String.join(", ", names.stream().map(Name::text).toList());
    }

    /**
     * A dry run's report from a dump's table of contents ({@code pg_restore --list} lines): the
     * tables a real run would create in {@code database}, or why it would fail.
     */
    public String dryRun(List<String> listing, String database) {
        List<Table> inDump = new ArrayList<>();
        for (String line : listing) {
            java.util.regex.Matcher m = TOC_TABLE.matcher(line);
            if (m.matches()) {
                inDump.add(new Table(m.group(1), m.group(2)));
            }
        }
        Set<Table> chosen = new LinkedHashSet<>();
        List<String> missing = new ArrayList<>();
        for (Name n : names) {
            List<Table> matches = inDump.stream().filter(t -> t.schema().equals(n.schema()) && (n.table() == null
                    || t.name().equals(n.table()))).toList();
            if (matches.isEmpty()) {
                missing.add(n.text());
            }
            chosen.addAll(matches);
        }
        if (!missing.isEmpty()) {
            return "; the real run would fail: not in the snapshot: " + String.join(", ", missing);
        }
        Map<String, Table> byName = new java.util.HashMap<>();
        for (Table t : chosen) {
            Table other = byName.putIfAbsent(t.name(), t);
            if (other != null) {
                return "; the real run would fail: " + other.text() + " and " + t.text() + " would both be " + schema + "." + t.name();
            }
        }
        return "; would create schema " + schema + " in database " + database + " with " + String.join(", ", chosen.stream()
                .map(t -> t.text() + " as " + schema + "." + t.name()).toList());
    }

    /** A table in {@code pg_restore --list}: {@code 215; 1259 16385 TABLE public orders owner}. */
    private static final Pattern TOC_TABLE = Pattern.compile("\\d+; \\d+ \\d+ TABLE (\\S+) (\\S+) \\S+");

    /** A SQL VALUES list of (order, schema, table-or-null), for resolving the names in one query. */
    String values() {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Name n = names.get(i);
            rows.add("(" + i + ", '" + n.schema() + "', " + (n.table() == null ? "NULL" : "'" + n.table() + "'") + ")");
        }
        return "(VALUES " + String.join(", ", rows) + ")";
    }

    /** {@code name} as a quoted identifier (names here are checked identifiers, so only the quotes are added). */
    static String quote(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
