package dev.backstop.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens a configured key file, with a reason that names the configuration key when it cannot. */
final class KeyFiles {
    private KeyFiles() {}

    static InputStream open(String configKey, Path file) throws IOException {
        try {
            return Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new IOException(configKey + " " + file + " does not exist", e);
        } catch (AccessDeniedException e) {
            throw new IOException(configKey + " " + file + " cannot be read by this user (permission denied)", e);
        } catch (IOException e) {
            throw new IOException(configKey + " " + file + " cannot be read: " + e.getMessage(), e);
        }
    }
}
