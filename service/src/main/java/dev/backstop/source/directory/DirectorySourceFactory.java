package dev.backstop.source.directory;

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
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code type: directory}: a tar (POSIX/pax) of a directory tree.
 *
 * @param name          unique source name
 * @param replicas further storage targets that get a copy of every snapshot (caught up when they were down)
 * @param target        storage target name (default: the first)
 * @param path          the directory
 * @param include       glob patterns relative to {@code path}; empty means everything
 * @param exclude       glob patterns relative to {@code path}, applied after include
 * @param failOnChange  fail the snapshot when a file changes or vanishes while being read
 *                      (default: record it in the manifest and carry on)
 * @param createIfMissing create the directory at startup when it does not exist (default false)
 * @param schedule  Quartz cron for scheduled snapshots (none: snapshots only on request)
 * @param misfire   what a missed snapshot does: runOnce (default) or skip
 * @param retention which snapshots to keep (none: all are kept)
 * @param verify    the verification drill (none: no drill)
 */
@JsonTypeName("directory")
public record DirectorySourceFactory(
        @NotNull @Pattern(regexp = SourceNames.PATTERN, message = SourceNames.MESSAGE) String name,
        String target,
        java.util.List<String> replicas,
        @NotNull Path path,
        @NotNull List<String> include,
        @NotNull List<String> exclude,
        boolean failOnChange,
        boolean createIfMissing,
        @Cron String schedule,
        Misfire misfire,
        @Valid RetentionPolicy retention,
        @Valid VerifyConfig verify) implements SourceFactory {

    @JsonCreator
    public DirectorySourceFactory(@JsonProperty("name") String name, @JsonProperty("target") String target,
            @JsonProperty("replicas") List<String> replicas,
            @JsonProperty("path") Path path, @JsonProperty("include") List<String> include,
            @JsonProperty("exclude") List<String> exclude, @JsonProperty("failOnChange") Boolean failOnChange,
            @JsonProperty("createIfMissing") Boolean createIfMissing, @JsonProperty("schedule") String schedule,
            @JsonProperty("misfire") Misfire misfire, @JsonProperty("retention") RetentionPolicy retention,
            @JsonProperty("verify") VerifyConfig verify) {
        this(name, target, replicas == null ? List.of() : List.copyOf(replicas), path, include == null ? List.of() : List.copyOf(include),
                exclude == null ? List.of() : List.copyOf(exclude), failOnChange != null && failOnChange,
                createIfMissing != null && createIfMissing, schedule, Misfire.orDefault(misfire), retention, verify);
    }

    @Override
    public String type() {
        return "directory";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        if (createIfMissing) {
            try {
                java.nio.file.Files.createDirectories(path);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("sources[" + name + "].path: cannot create " + path, e);
            }
        }
        return new DirectorySource(this);
    }

    @Override
    public dev.backstop.source.SourceRestorer restorer(dev.backstop.source.SourceEnvironment environment) {
        return new DirectoryRestorer();
    }
}
