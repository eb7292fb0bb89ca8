package dev.backstop.source.postgres;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceSettings;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code type: postgres}: {@code pg_dump -Fc -Z0} (custom format, uncompressed: Backstop
 * compresses). The keys every type shares are in {@link SourceSettings}; this type adds:
 *
 * <ul>
 *   <li>{@code host}: server host or socket directory (default 127.0.0.1)</li>
 *   <li>{@code port}: server port (default 5432)</li>
 *   <li>{@code database}: database to dump</li>
 *   <li>{@code user}: role to connect as</li>
 *   <li>{@code password}: use {@code ${ENV_VAR}}; handed to pg_dump as PGPASSWORD, never on its command line</li>
 *   <li>{@code passfile}: alternatively, a pgpass file (PGPASSFILE)</li>
 *   <li>{@code pgDump}: pg_dump executable; must be at least the server's major version</li>
 *   <li>{@code schemas}, {@code excludeSchemas}: only these schemas ({@code -n}), schemas to leave out ({@code -N})</li>
 *   <li>{@code tables}, {@code excludeTables}: only these tables ({@code -t}), tables to leave out ({@code -T})</li>
 * </ul>
 */
@JsonTypeName("postgres")
public final class PostgresSourceFactory extends SourceSettings {
    @NotBlank
    private final String host;
    @Min(1)
    @Max(65535)
    private final int port;
    @NotBlank
    private final String database;
    @NotBlank
    private final String user;
    private final String password;
    private final Path passfile;
    @NotBlank
    private final String pgDump;
    @NotNull
    private final List<String> schemas;
    @NotNull
    private final List<String> excludeSchemas;
    @NotNull
    private final List<String> tables;
    @NotNull
    private final List<String> excludeTables;

    @JsonCreator
    public PostgresSourceFactory(@JsonProperty("host") String host, @JsonProperty("port") Integer port,
            @JsonProperty("database") String database, @JsonProperty("user") String user,
            @JsonProperty("password") String password, @JsonProperty("passfile") Path passfile,
            @JsonProperty("pgDump") String pgDump, @JsonProperty("schemas") List<String> schemas,
            @JsonProperty("excludeSchemas") List<String> excludeSchemas, @JsonProperty("tables") List<String> tables,
            @JsonProperty("excludeTables") List<String> excludeTables) {
        this(null, host, port, database, user, password, passfile, pgDump, schemas, excludeSchemas, tables, excludeTables);
    }

    public PostgresSourceFactory(Shared shared, String host, Integer port, String database, String user, String password,
            Path passfile, String pgDump, List<String> schemas, List<String> excludeSchemas, List<String> tables,
            List<String> excludeTables) {
        super(shared == null ? Shared.named(null) : shared);
        this.host = host == null ? "127.0.0.1" : host;
        this.port = port == null ? 5432 : port;
        this.database = database;
        this.user = user;
        this.password = password == null || password.isEmpty() ? null : password;
        this.passfile = passfile;
        this.pgDump = pgDump == null ? "pg_dump" : pgDump;
        this.schemas = orEmpty(schemas);
        this.excludeSchemas = orEmpty(excludeSchemas);
        this.tables = orEmpty(tables);
        this.excludeTables = orEmpty(excludeTables);
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String database() {
        return database;
    }

    public String user() {
        return user;
    }

    public String password() {
        return password;
    }

    public Path passfile() {
        return passfile;
    }

    /** How this source's processes start (pg_dump, pg_restore): with its PGPASSWORD / PGPASSFILE. */
    public dev.backstop.source.SourceProcesses processes() {
        return dev.backstop.source.SourceProcesses.postgres(password, passfile);
    }

    public String pgDump() {
        return pgDump;
    }

    public List<String> schemas() {
        return schemas;
    }

    public List<String> excludeSchemas() {
        return excludeSchemas;
    }

    public List<String> tables() {
        return tables;
    }

    public List<String> excludeTables() {
        return excludeTables;
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
        return "PostgresSourceFactory[name=" + name() + ", host=" + host + ", port=" + port + ", database=" + database
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
