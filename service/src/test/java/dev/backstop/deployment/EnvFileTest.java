package dev.backstop.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** install.sh's check reads /etc/backstop/env as systemd's EnvironmentFile= does: values keep their spaces and quotes. */
class EnvFileTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    private static Map<String, String> read(Path envFile) throws Exception {
        return dev.backstop.support.EnvFiles.read(envFile);
    }

    @Test
    void valuesWithSpacesQuotesAndHashesArriveWhole() throws Exception {
        Path env = dir.resolve("env");
        Files.writeString(env, """
                # a comment
                ; also one
                  SPACED = two words   
                QUOTED="say \\"hi\\" # not a comment \\\\ \\$HOME"
                SINGLE='$NOT expanded "as is"'
                HASH=abc#def
                EMPTY=
                not an assignment
                """);
        assertThat(read(env)).containsExactly(Map.entry("SPACED", "two words"),
                Map.entry("QUOTED", "say \"hi\" # not a comment \\ $HOME"), Map.entry("SINGLE", "$NOT expanded \"as is\""),
                Map.entry("HASH", "abc#def"), Map.entry("EMPTY", ""));
    }

    @Test
    void theShippedTemplateNamesEverySecretTheExampleConfigUses() throws Exception {
        Map<String, String> template = read(REPO.resolve("deployment/env.example"));
        String config = Files.readString(REPO.resolve("deployment/config.example.yml"));
        java.util.regex.Matcher required = java.util.regex.Pattern.compile("\\$\\{([A-Z0-9_]+)}").matcher(config);
        while (required.find()) {
            assertThat(template).as("env.example sets %s, which config.example.yml requires", required.group(1))
                    .containsKey(required.group(1));
        }
        assertThat(Files.readString(REPO.resolve("deployment/install.sh"))).contains("envfile_assignments \"$ENV_FILE\"")
                .doesNotContain("xargs");
    }
}
