package dev.backstop.source.pgtables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.source.SourceRestorer.Refused;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a table-level restore reads its request, and what its dry run and its check say: plain units, no database. */
class TableSelectionTest {
    private static final Map<String, String> TARGET = Map.of("database", "app", "schema", "undo_1");

    @Test
    void namesAreSchemaQualifiedWithPublicByDefaultAndDuplicatesCollapse() {
        TableSelection s = TableSelection.parse(List.of("orders", "sales.items", "archive.*", "public.orders"), TARGET);
        assertThat(s.names()).containsExactly(new TableSelection.Name("public", "orders"), new TableSelection.Name("sales", "items"),
                new TableSelection.Name("archive", null));
        assertThat(s.schema()).isEqualTo("undo_1");
        assertThat(s.text()).isEqualTo("public.orders, sales.items, archive.*");
        assertThat(s.values()).isEqualTo("(VALUES (0, 'public', 'orders'), (1, 'sales', 'items'), (2, 'archive', NULL))");
    }

    @Test
    void mistakesAreRefusedNamingTheEntryOrTheKey() {
        assertRefused(List.of("orders; DROP TABLE x"), TARGET, "tables entry 'orders; DROP TABLE x' is not a table name");
        assertRefused(List.of("Orders"), TARGET, "lowercase, unquoted");
        assertRefused(List.of("a.b.c"), TARGET, "more than one '.'");
        assertRefused(List.of("*"), TARGET, "is not a table name");
        assertRefused(List.of(), TARGET, "tables is empty");
        assertRefused(List.of("orders"), Map.of("database", "app"), "target.schema is required");
        assertRefused(List.of("orders"), Map.of("database", "app", "schema", "pg_undo"), "not starting with pg_");
        assertRefused(List.of("orders"), Map.of("schema", "undo"), "target.database is required");
        assertRefused(List.of("orders"), Map.of("database", "app", "schema", "undo", "datbase", "x"), "unknown target key 'datbase'");
    }

    private static void assertRefused(List<String> tables, Map<String, String> target, String message) {
        assertThatThrownBy(() -> TableSelection.parse(tables, target)).isInstanceOf(Refused.class).hasMessageContaining(message)
                .matches(e -> !((Refused) e).isConflict());
    }

    /** Lines as {@code pg_restore --list} prints them (PostgreSQL 15). */
    private static final List<String> LISTING = List.of(
            ";",
            "; Archive created at 2026-12-05 06:30:00 UTC",
            "215; 1259 16385 TABLE public customers postgres",
            "216; 1259 16391 TABLE public orders postgres",
            "217; 1259 16390 SEQUENCE public orders_id_seq postgres",
            "3350; 0 16385 TABLE DATA public customers postgres",
            "3351; 0 16391 TABLE DATA public orders postgres",
            "3190; 1259 16402 INDEX public orders_customer postgres",
            "218; 1259 16410 TABLE archive orders postgres");

    @Test
    void aDryRunSaysWhatWouldBeCreatedOrWhyItWouldFail() {
        assertThat(TableSelection.parse(List.of("public.*"), TARGET).dryRun(LISTING, "app"))
                .isEqualTo("; would create schema undo_1 in database app with public.customers as undo_1.customers, "
                        + "public.orders as undo_1.orders");
        assertThat(TableSelection.parse(List.of("orders", "invoices", "nope.*"), TARGET).dryRun(LISTING, "app"))
                .isEqualTo("; the real run would fail: not in the snapshot: public.invoices, nope.*");
        assertThat(TableSelection.parse(List.of("public.orders", "archive.orders"), TARGET).dryRun(LISTING, "app"))
                .contains("would fail: public.orders and archive.orders would both be undo_1.orders");
    }

    @Test
    void theLoadsCheckFailsItsTransactionUnlessEveryTableHasTheRowsTheCopyHad() {
        String check = TableCopy.check("undo_1", List.of(new TableSelection.Table("public", "orders"),
                new TableSelection.Table("sales", "items")), List.of(600L, 0L));
        assertThat(check).contains("SELECT count(*) INTO n FROM \"undo_1\".\"orders\";\nIF n <> 600 THEN RAISE EXCEPTION")
                .contains("SELECT count(*) INTO n FROM \"undo_1\".\"items\";\nIF n <> 0 THEN").startsWith("\nDO $backstop$")
                .endsWith("END $backstop$;\n");
    }
}
