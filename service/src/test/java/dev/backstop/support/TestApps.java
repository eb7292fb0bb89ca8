package dev.backstop.support;

import dev.backstop.BackstopConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds in-process applications on random ports over test-config.yml. */
public final class TestApps {
    private TestApps() {}

    /** The test application on a fresh H2 catalog file in its own temp directory. */
    public static DropwizardAppExtension<BackstopConfiguration> withH2(ConfigOverride... overrides) {
        List<ConfigOverride> all = new ArrayList<>();
        all.add(ConfigOverride.config("catalog.url", "jdbc:h2:" + tempDir("backstop-h2").resolve("catalog")));
        all.addAll(List.of(overrides));
        return new DropwizardAppExtension<>(TestBackstopApplication.class,
                ResourceHelpers.resourceFilePath("test-config.yml"), all.toArray(ConfigOverride[]::new));
    }

    public static Path tempDir(String prefix) {
        try {
            Path dir = Files.createTempDirectory(prefix);
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
