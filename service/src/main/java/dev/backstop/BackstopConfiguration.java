package dev.backstop;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.backstop.auth.AuthConfig;
import dev.backstop.health.DiskConfig;
import dev.backstop.health.HealthConfig;
import dev.backstop.resources.ApiConfig;
import dev.backstop.source.SourceFactory;
import io.dropwizard.core.Configuration;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The whole of {@code config.yml}. Every block has defaults, so an empty file is a working config. */
public class BackstopConfiguration extends Configuration {

    @Valid
    @NotNull
    @JsonProperty
    private DataSourceFactory catalog = defaultCatalog();

    @Valid
    @NotNull
    @JsonProperty
    private AuthConfig auth = AuthConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private ApiConfig api = ApiConfig.defaults();

    /** Not {@code health}: Dropwizard's own configuration already owns that key. */
    @Valid
    @NotNull
    @JsonProperty
    private HealthConfig healthMonitor = HealthConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private DiskConfig disk = DiskConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private List<SourceFactory> sources = List.of();

    public DataSourceFactory catalog() {
        return catalog;
    }

    public AuthConfig auth() {
        return auth;
    }

    public ApiConfig api() {
        return api;
    }

    public HealthConfig healthMonitor() {
        return healthMonitor;
    }

    public DiskConfig disk() {
        return disk;
    }

    public List<SourceFactory> sources() {
        return sources;
    }

    @JsonIgnore
    @ValidationMethod(message = "catalog.url must start with jdbc:h2: or jdbc:postgresql:")
    public boolean isCatalogDialectSupported() {
        String url = catalog == null ? null : catalog.getUrl();
        return url == null || url.startsWith("jdbc:h2:") || url.startsWith("jdbc:postgresql:");
    }

    @JsonIgnore
    @ValidationMethod(message = "sources[].name must be unique")
    public boolean isSourceNamesUnique() {
        Set<String> seen = new HashSet<>();
        return sources == null || sources.stream().allMatch(s -> seen.add(s.name()));
    }

    /** An H2 file catalog under ./var: works on a fresh machine with nothing installed. */
    private static DataSourceFactory defaultCatalog() {
        DataSourceFactory factory = new DataSourceFactory();
        factory.setDriverClass("org.h2.Driver");
        factory.setUrl("jdbc:h2:./var/catalog");
        factory.setUser("backstop");
        factory.setPassword("");
        factory.setMaxWaitForConnection(Duration.seconds(1));
        factory.setValidationQueryTimeout(Duration.seconds(2));
        factory.setProperties(Map.of());
        return factory;
    }
}
