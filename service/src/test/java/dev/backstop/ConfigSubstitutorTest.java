package dev.backstop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.UndefinedEnvironmentVariableException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigSubstitutorTest {
    private final ConfigSubstitutor substitutor = ConfigSubstitutor.over(Map.of("DB_PASSWORD", "s3cret", "TOKEN", "abc"));

    @Test
    void setVariablesAndDefaultsAreSubstituted() {
        assertThat(substitutor.replace("password: \"${DB_PASSWORD}\"\nregion: ${REGION:-eu-west-1}\n"))
                .isEqualTo("password: \"s3cret\"\nregion: eu-west-1\n");
    }

    @Test
    void aCommentedOutVariableNeitherStopsTheStartNorIsFilledIn() {
        String yaml = "encryption:\n  # privateKeyPassphrase: \"${BACKSTOP_KEY_PASSPHRASE}\"\ntoken: ${TOKEN}\n";
        assertThat(substitutor.replace(yaml)).isEqualTo(yaml.replace("${TOKEN}", "abc"));
    }

    @Test
    void everyUnsetVariableIsNamedAtOnce() {
        assertThatThrownBy(() -> substitutor.replace("a: ${FIRST}\nb: ${DB_PASSWORD}\nc: ${SECOND}\nd: ${FIRST}\n"))
                .isInstanceOf(UndefinedEnvironmentVariableException.class)
                .hasMessage("environment variables FIRST, SECOND are not set (the configuration names them as ${...}; under systemd, "
                        + "in /etc/backstop/env)");
    }
}
