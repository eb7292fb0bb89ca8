package dev.backstop.storage.filesystem;

import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.storage.StorageTarget;
import dev.backstop.storage.StorageTargetFactory;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;

/**
 * {@code type: filesystem}: objects as files under {@code path} (a local disk, NFS, a mounted volume).
 *
 * @param name unique target name
 * @param path root directory; created when missing
 */
@JsonTypeName("filesystem")
public record FilesystemTargetFactory(@NotBlank String name, @NotNull Path path) implements StorageTargetFactory {
    @Override
    public StorageTarget build(dev.backstop.storage.StorageEnvironment environment) {
        return new FilesystemTarget(name, path);
    }
}
