package dev.backstop;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.backstop.auth.AuthConfig;
import dev.backstop.db.CatalogDataSourceFactory;
import dev.backstop.health.DiskConfig;
import dev.backstop.health.HealthConfig;
import dev.backstop.resources.ApiConfig;
import dev.backstop.source.SourceFactory;
import io.dropwizard.core.Configuration;
import io.dropwizard.db.DataSourceFactory;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The whole of {@code config.yml}. Every block has defaults, so an empty file is a working config. */
public class BackstopConfiguration extends Configuration {

    @Valid
    @NotNull
    @JsonProperty
    private CatalogDataSourceFactory catalog = new CatalogDataSourceFactory();

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
    @ValidationMethod(message = "catalog.driverClass must match catalog.url: org.h2.Driver for jdbc:h2:, "
            + "org.postgresql.Driver for jdbc:postgresql:")
    public boolean isCatalogDriverMatchingUrl() {
        String url = catalog == null || catalog.getUrl() == null ? "" : catalog.getUrl();
        String driver = catalog == null ? null : catalog.getDriverClass();
        if (url.startsWith("jdbc:h2:")) {
            return "org.h2.Driver".equals(driver);
        }
        return !url.startsWith("jdbc:postgresql:") || "org.postgresql.Driver".equals(driver);
    }

    @JsonIgnore
    @ValidationMethod(message = "sources[].name must be unique")
    public boolean isSourceNamesUnique() {
        Set<String> seen = new HashSet<>();
        return sources == null || sources.stream().allMatch(s -> seen.add(s.name()));
    }
}
