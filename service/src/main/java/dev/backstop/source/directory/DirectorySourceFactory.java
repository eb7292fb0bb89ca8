package dev.backstop.source.directory;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.source.SnapshotSource;
import dev.backstop.source.SourceEnvironment;
import dev.backstop.source.SourceSettings;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code type: directory}: a tar (POSIX/pax) of a directory tree. The keys every type shares are in
 * {@link SourceSettings}; this type adds:
 *
 * <ul>
 *   <li>{@code path}: the directory</li>
 *   <li>{@code include}: glob patterns relative to {@code path}; empty means everything</li>
 *   <li>{@code exclude}: glob patterns relative to {@code path}, applied after include</li>
 *   <li>{@code failOnChange}: fail the snapshot when a file changes or vanishes while being read
 *       (default: record it in the manifest and carry on)</li>
 *   <li>{@code createIfMissing}: create the directory at startup when it does not exist (default false)</li>
 *   <li>{@code reuseUnchanged}: in a chunked snapshot, a file whose size, mtime, ctime and inode are
 *       the previous snapshot's is not read, its chunks are reused (default true; false reads every file)</li>
 * </ul>
 */
@JsonTypeName("directory")
public final class DirectorySourceFactory extends SourceSettings {
    @NotNull
    private final Path path;
    @NotNull
    private final List<String> include;
    @NotNull
    private final List<String> exclude;
    private final boolean failOnChange;
    private final boolean createIfMissing;
    private boolean reuseUnchanged = true;

    @JsonCreator
    public DirectorySourceFactory(@JsonProperty("path") Path path, @JsonProperty("include") List<String> include,
            @JsonProperty("exclude") List<String> exclude, @JsonProperty("failOnChange") Boolean failOnChange,
            @JsonProperty("createIfMissing") Boolean createIfMissing, @JsonProperty("reuseUnchanged") Boolean reuseUnchanged) {
        this(null, path, include, exclude, failOnChange, createIfMissing);
        this.reuseUnchanged = reuseUnchanged == null || reuseUnchanged;
    }

    public boolean reuseUnchanged() {
        return reuseUnchanged;
    }

    public DirectorySourceFactory(Shared shared, Path path, List<String> include, List<String> exclude, Boolean failOnChange,
            Boolean createIfMissing) {
        super(shared == null ? Shared.named(null) : shared);
        this.path = path;
        this.include = include == null ? List.of() : List.copyOf(include);
        this.exclude = exclude == null ? List.of() : List.copyOf(exclude);
        this.failOnChange = failOnChange != null && failOnChange;
        this.createIfMissing = createIfMissing != null && createIfMissing;
    }

    public Path path() {
        return path;
    }

    public List<String> include() {
        return include;
    }

    public List<String> exclude() {
        return exclude;
    }

    public boolean failOnChange() {
        return failOnChange;
    }

    public boolean createIfMissing() {
        return createIfMissing;
    }

    @Override
    public String type() {
        return "directory";
    }

    @Override
    public SnapshotSource build(SourceEnvironment environment) {
        if (createIfMissing && environment.storage() != null) { // not in check, which changes nothing
            try {
                java.nio.file.Files.createDirectories(path);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("sources[" + name() + "].path: cannot create " + path, e);
            }
        }
        return new DirectorySource(this);
    }

    @Override
    public dev.backstop.source.SourceRestorer restorer(dev.backstop.source.SourceEnvironment environment) {
        return new DirectoryRestorer();
    }
}
