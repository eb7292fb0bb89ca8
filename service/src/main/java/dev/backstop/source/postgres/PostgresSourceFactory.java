package dev.backstop.source.postgres;

import dev.backstop.model.RetentionPolicy;
import dev.backstop.model.Cron;
import dev.backstop.model.Misfire;
import dev.backstop.model.VerifyConfig;
import jakarta.validation.Valid;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceFactory;
import dev.backstop.source.SourceNames;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code type: postgres}: {@code pg_dump -Fc -Z0} (custom format, uncompressed: Backstop compresses).
 *
 * @param name          unique source name
 * @param replicas further storage targets that get a copy of every snapshot (caught up when they were down)
 * @param target        storage target name (default: the first)
 * @param host          server host or socket directory
 * @param port          server port
 * @param database      database to dump
 * @param user          role to connect as
 * @param password      use {@code ${ENV_VAR}}; handed to pg_dump as PGPASSWORD, never on its command line
 * @param passfile      alternatively, a pgpass file (PGPASSFILE)
 * @param pgDump        pg_dump executable; must be at least the server's major version
 * @param schemas       only these schemas ({@code -n}); empty: all
 * @param excludeSchemas schemas to leave out ({@code -N})
 * @param tables        only these tables ({@code -t}); empty: all
 * @param excludeTables tables to leave out ({@code -T})
 * @param schedule  Quartz cron for scheduled snapshots (none: snapshots only on request)
 * @param misfire   what a missed snapshot does: runOnce (default) or skip
 * @param retention which snapshots to keep (none: all are kept)
 * @param verify    the verification drill (none: no drill)
 */
@JsonTypeName("postgres")
public record PostgresSourceFactory(
        @NotNull @Pattern(regexp = SourceNames.PATTERN, message = SourceNames.MESSAGE) String name,
        String target,
        java.util.List<String> replicas,
        @NotBlank String host,
        @Min(1) @Max(65535) int port,
        @NotBlank String database,
        @NotBlank String user,
        String password,
        Path passfile,
        @NotBlank String pgDump,
        @NotNull List<String> schemas,
        @NotNull List<String> excludeSchemas,
        @NotNull List<String> tables,
        @NotNull List<String> excludeTables,
        @Cron String schedule,
        Misfire misfire,
        @Valid RetentionPolicy retention,
        @Valid VerifyConfig verify) implements SourceFactory {

    @JsonCreator
    public PostgresSourceFactory(@JsonProperty("name") String name, @JsonProperty("target") String target,
            @JsonProperty("replicas") List<String> replicas,
            @JsonProperty("host") String host, @JsonProperty("port") Integer port,
            @JsonProperty("database") String database, @JsonProperty("user") String user,
            @JsonProperty("password") String password, @JsonProperty("passfile") Path passfile,
            @JsonProperty("pgDump") String pgDump, @JsonProperty("schemas") List<String> schemas,
            @JsonProperty("excludeSchemas") List<String> excludeSchemas, @JsonProperty("tables") List<String> tables,
            @JsonProperty("excludeTables") List<String> excludeTables, @JsonProperty("schedule") String schedule,
            @JsonProperty("misfire") Misfire misfire, @JsonProperty("retention") RetentionPolicy retention,
            @JsonProperty("verify") VerifyConfig verify) {
        this(name, target, replicas == null ? List.of() : List.copyOf(replicas), host == null ? "127.0.0.1" : host, port == null ? 5432 : port, database, user,
                password == null || password.isEmpty() ? null : password, passfile, pgDump == null ? "pg_dump" : pgDump,
                orEmpty(schemas), orEmpty(excludeSchemas), orEmpty(tables), orEmpty(excludeTables), schedule,
                Misfire.orDefault(misfire), retention, verify);
    }

    private static List<String> orEmpty(List<String> list) {
        return list == null ? List.of() : List.copyOf(list);
    }

    @Override
    public String type() {
        return "postgres";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new PostgresSource(this);
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "PostgresSourceFactory[name=" + name + ", host=" + host + ", port=" + port + ", database=" + database
                + ", user=" + user + ", password=" + (password == null ? "none" : "***") + "]";
    }

    @Override
    public dev.backstop.source.SourceRestorer restorer(dev.backstop.source.SourceEnvironment environment) {
        return new PostgresRestorer(this, environment);
    }

    @Override
    public java.util.Optional<dev.backstop.source.PruningDialect> pruning(dev.backstop.source.SourceEnvironment environment) {
        PostgresRestorer connections = new PostgresRestorer(this, environment);
        return java.util.Optional.of(new dev.backstop.source.PruningDialect() {
            @Override
            public java.sql.Connection connect() throws java.sql.SQLException {
                return connections.connect(database());
            }

            @Override
            public String deleteBatch(String table, String column) {
                return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + column
                        + " < ? LIMIT ?))";
            }
        });
    }
}
