package dev.backstop.source.h2;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceSettings;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/**
 * {@code type: h2}: an online SQL script of an H2 database ({@code SCRIPT}), restorable with
 * {@code RUNSCRIPT} or {@code org.h2.tools.RunScript}. The keys every type shares are in
 * {@link SourceSettings}; this type adds:
 *
 * <ul>
 *   <li>{@code url}: JDBC URL, e.g. {@code jdbc:h2:/var/lib/app/db}; in the same process as an open
 *       embedded database, use exactly the URL that opened it</li>
 *   <li>{@code user}: database user (needs ADMIN for SCRIPT)</li>
 *   <li>{@code password}: use {@code ${ENV_VAR}}; may be empty</li>
 * </ul>
 */
@JsonTypeName("h2")
public final class H2SourceFactory extends SourceSettings {
    @NotNull
    @Pattern(regexp = "jdbc:h2:.+", message = "must be an H2 JDBC URL (jdbc:h2:...)")
    private final String url;
    @NotNull
    private final String user;
    private final String password;

    @JsonCreator
    public H2SourceFactory(@JsonProperty("url") String url, @JsonProperty("user") String user,
            @JsonProperty("password") String password) {
        this.url = url;
        this.user = user;
        this.password = password;
    }

    public H2SourceFactory(Shared shared, String url, String user, String password) {
        super(shared);
        this.url = url;
        this.user = user;
        this.password = password;
    }

    public String url() {
        return url;
    }

    public String user() {
        return user;
    }

    public String password() {
        return password;
    }

    @Override
    public String type() {
        return "h2";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new H2Source(this);
    }

    @Override
    public String toString() {
        return "H2SourceFactory[name=" + name() + ", url=" + url + ", user=" + user + "]";
    }

    @Override
    public dev.backstop.source.SourceRestorer restorer(dev.backstop.source.SourceEnvironment environment) {
        return new H2Restorer(name(), environment);
    }

    @Override
    public boolean isDatabaseAt(String jdbcUrl) {
        return url.equals(jdbcUrl);
    }

    @Override
    public java.util.Optional<dev.backstop.source.PruningDialect> pruning(dev.backstop.source.SourceEnvironment environment) {
        return java.util.Optional.of(new dev.backstop.source.PruningDialect() {
            @Override
            public java.sql.Connection connect() throws java.sql.SQLException {
                return environment.connections().open(name(),
                        () -> java.sql.DriverManager.getConnection(url(), user(), password() == null ? "" : password()));
            }

            @Override
            public String deleteBatch(String table, String column) {
                return "DELETE FROM " + table + " WHERE " + column + " < ? LIMIT ?";
            }
        });
    }
}
