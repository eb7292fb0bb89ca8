package dev.backstop.source.pgcluster;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceRestorer;
import dev.backstop.source.SourceSettings;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code type: postgres-cluster}: a whole PostgreSQL 15+ cluster, physically: each snapshot is a
 * base backup ({@code pg_basebackup -D - -Ft -X fetch -c fast --manifest-checksums=CRC32C}), a
 * tar of the data directory with the WAL it needs, so each one restores on its own. The keys every
 * type shares are in {@link SourceSettings}; this type adds:
 *
 * <ul>
 *   <li>{@code host}, {@code port}: the server (default 127.0.0.1:5432)</li>
 *   <li>{@code user}: a role WITH REPLICATION (pg_hba.conf needs a {@code replication} line for it)</li>
 *   <li>{@code password}: use {@code ${ENV_VAR}}; handed over as PGPASSWORD, never on a command line</li>
 *   <li>{@code passfile}: alternatively, a pgpass file (PGPASSFILE)</li>
 *   <li>{@code binDirectory}: where pg_basebackup, pg_ctl and postgres are (default: {@code pg_config --bindir},
 *       else /usr/lib/postgresql/15/bin)</li>
 *   <li>{@code osUser}: the OS user restored and drill servers run as when Backstop runs as root (default postgres)</li>
 *   <li>{@code slot}: the physical replication slot pg_receivewal streams from (default {@code backstop_<name>}; created if missing)</li>
 *   <li>{@code walSpool}: where pg_receivewal writes before upload (default {@code <snapshots.stagingPath>/wal/<name>})</li>
 *   <li>{@code partialUploadEvery}: how often the segment being written is stored (default 10s): the RPO bound</li>
 *   <li>{@code pitrWindow}: how far back any point can be restored (default 7d)</li>
 *   <li>{@code walLagWarn}: WAL written by the server but not yet in storage above which health warns (default 1GiB)</li>
 * </ul>
 */
@JsonTypeName("postgres-cluster")
public final class ClusterSourceFactory extends SourceSettings {
    @NotBlank
    private final String host;
    @Min(1)
    @Max(65535)
    private final int port;
    @NotBlank
    private final String user;
    private final String password;
    private final Path passfile;
    private final Path binDirectory;
    @NotBlank
    private final String osUser;
    @jakarta.validation.constraints.Pattern(regexp = "[a-z0-9_]{1,63}", message = "must be 1 to 63 of a-z, 0-9 and _ (a replication slot name)")
    private final String slot;
    private final Path walSpool;
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    private final Duration partialUploadEvery;
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.MINUTES)
    private final Duration pitrWindow;
    @NotNull
    private final io.dropwizard.util.DataSize walLagWarn;
    private WalArchiver archiver;
    private java.util.concurrent.ExecutorService feeders;
    private PgTools tools;

    @JsonCreator
    public ClusterSourceFactory(@JsonProperty("host") String host, @JsonProperty("port") Integer port,
            @JsonProperty("user") String user, @JsonProperty("password") String password,
            @JsonProperty("passfile") Path passfile, @JsonProperty("binDirectory") Path binDirectory,
            @JsonProperty("osUser") String osUser, @JsonProperty("slot") String slot, @JsonProperty("walSpool") Path walSpool,
            @JsonProperty("partialUploadEvery") Duration partialUploadEvery, @JsonProperty("pitrWindow") Duration pitrWindow,
            @JsonProperty("walLagWarn") io.dropwizard.util.DataSize walLagWarn) {
        this(null, host, port, user, password, passfile, binDirectory, osUser, slot, walSpool, partialUploadEvery, pitrWindow,
                walLagWarn);
    }

    public ClusterSourceFactory(Shared shared, String host, Integer port, String user, String password, Path passfile,
            Path binDirectory, String osUser, String slot, Path walSpool, Duration partialUploadEvery, Duration pitrWindow,
            io.dropwizard.util.DataSize walLagWarn) {
        super(shared == null ? Shared.named(null) : shared);
        this.host = host == null ? "127.0.0.1" : host;
        this.port = port == null ? 5432 : port;
        this.user = user;
        this.password = password == null || password.isEmpty() ? null : password;
        this.passfile = passfile;
        this.binDirectory = binDirectory;
        this.osUser = osUser == null ? "postgres" : osUser;
        this.slot = slot;
        this.walSpool = walSpool;
        this.partialUploadEvery = partialUploadEvery == null ? Duration.seconds(10) : partialUploadEvery;
        this.pitrWindow = pitrWindow == null ? Duration.days(7) : pitrWindow;
        this.walLagWarn = walLagWarn == null ? io.dropwizard.util.DataSize.gibibytes(1) : walLagWarn;
    }

    /** WAL not yet in storage above which health warns. */
    long walLagWarnBytes() {
        return walLagWarn.toBytes();
    }

    /** The replication slot: {@code slot}, or {@code backstop_<name>} ('-' becomes '_'). */
    public String slot() {
        return slot != null ? slot : "backstop_" + name().replace('-', '_');
    }

    java.time.Duration partialUploadEvery() {
        return java.time.Duration.ofMillis(partialUploadEvery.toMilliseconds());
    }

    java.time.Duration pitrWindow() {
        return java.time.Duration.ofMillis(pitrWindow.toMilliseconds());
    }

    Path walSpool(Path stagingDirectory) {
        return walSpool != null ? walSpool : stagingDirectory.resolve("wal").resolve(name());
    }

    /** The WAL archive of this source: one per service, shared by the archiver, the restorer and the window. */
    synchronized WalArchiver archiver(SourceEnvironment environment) {
        if (archiver == null) {
            SourceEnvironment.Storage storage = environment.requireStorage("the WAL archive of " + name());
            feeders = storage.threads().elastic("wal-replay-" + name(), java.time.Duration.ofMinutes(1));
            archiver = new WalArchiver(this, tools(), new WalArchive(name(), storage.target(), storage.codec()),
                    walSpool(environment.stagingDirectory()).toAbsolutePath(), storage.metrics(), storage.clock(),
                    storage.threads().scheduled("wal-upload-" + name()), storage.threads().scheduled("wal-positions-" + name()),
                    storage.threads().fixed("wal-receiver-" + name(), 1),
                    environment.snapshots());
        }
        return archiver;
    }

    /** The managed pool restores' WAL feeders run on, built with the archiver (null before: a feeder then has a thread of its own). */
    synchronized java.util.concurrent.ExecutorService feeders() {
        return feeders;
    }

    /** The archiver once built (null before, and in commands that do not build one). */
    synchronized WalArchiver runningArchiver() {
        return archiver;
    }

    /** Streams the cluster's WAL into storage while the server runs. */
    @Override
    public java.util.Optional<io.dropwizard.lifecycle.Managed> daemon(SourceEnvironment environment) {
        return java.util.Optional.of(archiver(environment));
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String user() {
        return user;
    }

    String password() {
        return password;
    }

    /** How this source's processes start: with its PGPASSWORD / PGPASSFILE, whichever tool it is. */
    dev.backstop.source.SourceProcesses processes() {
        return dev.backstop.source.SourceProcesses.postgres(password, passfile);
    }

    /** The client and server tools; {@code pg_config --bindir} is asked once. */
    synchronized PgTools tools() {
        if (tools == null) {
            tools = new PgTools(binDirectory == null ? defaultBinDirectory() : binDirectory, osUser, processes());
        }
        return tools;
    }

    private static Path defaultBinDirectory() {
        try {
            String out = dev.backstop.source.SourceProcesses.NONE.run(List.of("pg_config", "--bindir"), 30).trim();
            Path bin = Path.of(out);
            if (java.nio.file.Files.isExecutable(bin.resolve("pg_ctl"))) {
                return bin;
            }
        } catch (java.io.IOException noPgConfig) {
            // fall back to Debian's layout
        }
        return Path.of("/usr/lib/postgresql/15/bin");
    }

    @Override
    public String type() {
        return "postgres-cluster";
    }

    @Override
    protected boolean verifiesInADatabase() {
        return true;
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        return new BaseBackupSource(this, tools(), environment.storage() == null ? null : () -> archiver(environment),
                environment.storage() == null ? java.time.Clock.systemUTC() : environment.storage().clock());
    }

    @Override
    public SourceRestorer restorer(SourceEnvironment environment) {
        return new ClusterRestorer(this, tools(), environment.storage() == null ? null : archiver(environment).archive(),
                environment.stagingDirectory());
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "ClusterSourceFactory[name=" + name() + ", host=" + host + ", port=" + port + ", user=" + user + ", password="
                + (password == null ? "none" : "***") + "]";
    }
}
