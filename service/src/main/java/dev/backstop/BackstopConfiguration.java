package dev.backstop;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.backstop.auth.AuthConfig;
import dev.backstop.core.SnapshotsConfig;
import dev.backstop.db.CatalogDataSourceFactory;
import dev.backstop.health.HealthConfig;
import dev.backstop.model.DiskConfig;
import dev.backstop.pipeline.CompressionConfig;
import dev.backstop.pipeline.EncryptionConfig;
import dev.backstop.pruning.PruningConfig;
import dev.backstop.resilience.ResilienceConfig;
import dev.backstop.resources.ApiConfig;
import dev.backstop.schedule.SchedulerConfig;
import dev.backstop.source.SourceFactory;
import dev.backstop.storage.StorageConfig;
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

    @Valid
    @NotNull
    @JsonProperty
    private StorageConfig storage = StorageConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private SnapshotsConfig snapshots = SnapshotsConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private CompressionConfig compression = CompressionConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private EncryptionConfig encryption = EncryptionConfig.disabled();

    @Valid
    @NotNull
    @JsonProperty
    private SchedulerConfig scheduler = SchedulerConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private PruningConfig pruning = PruningConfig.defaults();

    @Valid
    @NotNull
    @JsonProperty
    private ResilienceConfig resilience = ResilienceConfig.defaults();

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

    public StorageConfig storage() {
        return storage;
    }

    public SnapshotsConfig snapshots() {
        return snapshots;
    }

    public CompressionConfig compression() {
        return compression;
    }

    public EncryptionConfig encryption() {
        return encryption;
    }

    public SchedulerConfig scheduler() {
        return scheduler;
    }

    public PruningConfig pruning() {
        return pruning;
    }

    public ResilienceConfig resilience() {
        return resilience;
    }

    @JsonIgnore
    @ValidationMethod(message = "pruning.policies[].source must name a configured postgres, h2 or sqlite source")
    public boolean isPruningSourceKnown() {
        if (pruning == null || sources == null) {
            return true;
        }
        return pruning.policies().stream().allMatch(p -> sources.stream().anyMatch(s -> s.name().equals(p.source())
                && !"directory".equals(s.type())));
    }

    @JsonIgnore
    @ValidationMethod(message = "pruning.policies[].name must be unique")
    public boolean isPruningNamesUnique() {
        Set<String> seen = new HashSet<>();
        return pruning == null || pruning.policies().stream().allMatch(p -> seen.add(p.name()));
    }

    @JsonIgnore
    @ValidationMethod(message = "scheduler.clustered needs a PostgreSQL catalog: set catalog.url to jdbc:postgresql:...")
    public boolean isClusterOnPostgres() {
        return scheduler == null || !scheduler.clustered() || catalog == null || catalog.getUrl() == null
                || catalog.getUrl().startsWith("jdbc:postgresql:");
    }

    @JsonIgnore
    @ValidationMethod(message = "sources need a storage target: add one under storage.targets")
    public boolean isStorageConfiguredForSources() {
        return sources == null || sources.isEmpty() || (storage != null && !storage.targets().isEmpty());
    }

    @JsonIgnore
    @ValidationMethod(message = "sources[].target must name one of storage.targets[].name")
    public boolean isSourceTargetKnown() {
        if (sources == null || storage == null) {
            return true;
        }
        Set<String> targets = new HashSet<>();
        storage.targets().forEach(t -> targets.add(t.name()));
        return sources.stream().allMatch(s -> s.target() == null || targets.contains(s.target()));
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
    @ValidationMethod(message = "sources[].replicas must name storage.targets[].name entries other than the source's own target")
    public boolean isReplicaKnown() {
        if (sources == null || storage == null || storage.targets().isEmpty()) {
            return true;
        }
        Set<String> targets = new HashSet<>();
        storage.targets().forEach(t -> targets.add(t.name()));
        String first = storage.targets().get(0).name();
        return sources.stream().allMatch(s -> s.replicas() == null || s.replicas().stream()
                .allMatch(r -> targets.contains(r) && !r.equals(s.target() == null ? first : s.target())));
    }

    @JsonIgnore
    @ValidationMethod(message = "sources[].name must be unique")
    public boolean isSourceNamesUnique() {
        Set<String> seen = new HashSet<>();
        return sources == null || sources.stream().allMatch(s -> seen.add(s.name()));
    }

    /** The configured jobs: snapshots, retention and drills per source, replication, checks and data pruning. */
    public java.util.List<dev.backstop.schedule.JobSpec> jobSpecs() {
        BackstopConfiguration config = this;
        java.util.List<dev.backstop.schedule.JobSpec> specs = new java.util.ArrayList<>();
        for (dev.backstop.source.SourceFactory source : config.sources()) {
            if (source.schedule() != null) {
                specs.add(new dev.backstop.schedule.JobSpec(dev.backstop.schedule.JobKind.SNAPSHOT, source.name(), source.schedule(),
                        dev.backstop.model.Misfire.orDefault(source.misfire())));
            }
            if (source.retention() != null && source.retention().hasRules()) {
                specs.add(new dev.backstop.schedule.JobSpec(dev.backstop.schedule.JobKind.RETENTION, source.name(), source.retention().schedule(),
                        source.retention().misfire()));
            }
            if (source.verify() != null) {
                specs.add(new dev.backstop.schedule.JobSpec(dev.backstop.schedule.JobKind.VERIFY, source.name(), source.verify().schedule(),
                        source.verify().misfire()));
            }
        }
        config.sources().stream().flatMap(source -> source.replicas() == null ? java.util.stream.Stream.<String>empty()
                        : source.replicas().stream()).distinct().sorted()
                .forEach(replica -> specs.add(new dev.backstop.schedule.JobSpec(dev.backstop.schedule.JobKind.REPLICATE, replica,
                        config.storage().replicationSchedule(), dev.backstop.model.Misfire.SKIP)));
        if (config.snapshots().checkSchedule() != null) {
            config.storage().targets().forEach(target -> specs.add(new dev.backstop.schedule.JobSpec(dev.backstop.schedule.JobKind.CHECK, target.name(),
                    config.snapshots().checkSchedule(), dev.backstop.model.Misfire.SKIP)));
        }
        for (dev.backstop.pruning.DataPrunePolicy policy : config.pruning().policies()) {
            if (policy.schedule() != null) {
                specs.add(new dev.backstop.schedule.JobSpec(dev.backstop.schedule.JobKind.PRUNE, policy.name(), policy.schedule(), policy.misfire()));
            }
        }
        return specs;
    }
}
