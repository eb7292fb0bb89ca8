package dev.backstop.source;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.backstop.model.Cron;
import dev.backstop.model.Misfire;
import dev.backstop.model.RetentionPolicy;
import dev.backstop.model.VerifyConfig;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.util.List;

/**
 * The keys every source type shares, declared once here; each type's factory extends this class
 * and adds only its own keys. Jackson fills these fields from {@code sources[]} (an unknown key is
 * still an error naming it), and the validator checks them for every type.
 *
 * <ul>
 *   <li>{@code name}: unique source name, used in storage keys, metrics and the API</li>
 *   <li>{@code target}: storage target name (default: the first)</li>
 *   <li>{@code replicas}: further storage targets that get a copy of every snapshot (caught up when they were down)</li>
 *   <li>{@code schedule}: Quartz cron for scheduled snapshots (none: snapshots only on request)</li>
 *   <li>{@code misfire}: what a missed snapshot does: runOnce (default) or skip</li>
 *   <li>{@code retention}: which snapshots to keep (none: all are kept)</li>
 *   <li>{@code verify}: the verification drill (none: no drill)</li>
 * </ul>
 */
public abstract class SourceSettings implements SourceFactory {

    /** The shared keys as one value, for building a source in code (tests, tools) rather than from YAML. */
    public record Shared(String name, String target, List<String> replicas, String schedule, Misfire misfire,
            RetentionPolicy retention, VerifyConfig verify) {

        /** Only a name: no schedule, no retention, no drill, the first target. */
        public static Shared named(String name) {
            return new Shared(name, null, null, null, null, null, null);
        }
    }

    @JsonProperty
    @NotNull
    @Pattern(regexp = SourceNames.PATTERN, message = SourceNames.MESSAGE)
    private String name;

    @JsonProperty
    private String target;

    @JsonProperty
    private List<String> replicas;

    @JsonProperty
    @Cron
    private String schedule;

    @JsonProperty
    private Misfire misfire;

    @JsonProperty
    @Valid
    private RetentionPolicy retention;

    @JsonProperty
    @Valid
    private VerifyConfig verify;

    @JsonProperty
    @Pattern(regexp = "chunked|object", message = "must be chunked or object")
    private String format;

    /** For Jackson, which sets the shared keys after the type's own creator ran. */
    protected SourceSettings() {
    }

    protected SourceSettings(Shared shared) {
        this.name = shared.name();
        this.target = shared.target();
        this.replicas = shared.replicas();
        this.schedule = shared.schedule();
        this.misfire = shared.misfire();
        this.retention = shared.retention();
        this.verify = shared.verify();
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String target() {
        return target;
    }

    @Override
    public final List<String> replicas() {
        return replicas == null ? List.of() : List.copyOf(replicas);
    }

    @Override
    public final String schedule() {
        return schedule;
    }

    @Override
    public final Misfire misfire() {
        return Misfire.orDefault(misfire);
    }

    @Override
    public final RetentionPolicy retention() {
        return retention;
    }

    @Override
    public final VerifyConfig verify() {
        return verify;
    }

    /** {@code format}: how this source's snapshots are stored, when not as {@code snapshots.format} says (null). */
    @Override
    public final String format() {
        return format;
    }

    /** Whether this type restores into a cluster with databases to choose from ({@code verify.database}). */
    protected boolean verifiesInADatabase() {
        return false;
    }

    /** {@code verify.database} on a type that ignores it is a mistake worth a startup error, not silence. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    @io.dropwizard.validation.ValidationMethod(message = "sources[].verify.database is only used by type postgres-cluster "
            + "(the database of the restored cluster the probe runs in); other types probe their own scratch copy: remove it")
    public boolean isVerifyDatabaseUsed() {
        return verify == null || verify.database() == null || verifiesInADatabase();
    }

    /** The shared keys; a type with secrets overrides this and never prints them. */
    @Override
    public String toString() {
        return getClass().getSimpleName() + "[name=" + name + ", type=" + type() + ", target=" + target + ", schedule=" + schedule
                + "]";
    }
}
