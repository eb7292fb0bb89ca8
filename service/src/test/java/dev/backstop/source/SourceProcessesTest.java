package dev.backstop.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a source's processes are started with, seen through the launcher every start goes through. */
class SourceProcessesTest {
    /** A launcher that records what it is asked to start, then starts it. */
    private static final class Recording implements ProcessLauncher {
        final List<List<String>> commands = new ArrayList<>();
        final List<Map<String, String>> environments = new ArrayList<>();

        @Override
        public Process start(ProcessBuilder builder) throws IOException {
            commands.add(List.copyOf(builder.command()));
            environments.add(Map.copyOf(builder.environment()));
            return SYSTEM.start(builder);
        }
    }

    @Test
    void thePasswordTravelsInTheEnvironmentAndNeverOnTheCommandLine() throws IOException {
        Recording launcher = new Recording();
        SourceProcesses processes = SourceProcesses.postgres("s3cret-pw", Path.of("/etc/backstop/pgpass")).withLauncher(launcher);
        String out = processes.run(List.of("sh", "-c", "printf '%s %s %s' \"$PGPASSWORD\" \"$PGPASSFILE\" \"$PGAPPNAME\""), 30);
        assertThat(out).isEqualTo("s3cret-pw /etc/backstop/pgpass backstop");
        assertThat(launcher.commands).singleElement().satisfies(command -> assertThat(String.join(" ", command))
                .doesNotContain("s3cret-pw"));
        assertThat(launcher.environments.get(0)).as("no libpq variable of the service's own environment")
                .doesNotContainKeys("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGSERVICEFILE",
                        "PGOPTIONS");
        assertThat(processes.hasPassword()).isTrue();
        assertThat(SourceProcesses.NONE.hasPassword()).isFalse();
    }

    @Test
    void linesReadsInUtcAndAFailedRunNamesTheToolAndItsErrors() throws IOException {
        Recording launcher = new Recording();
        SourceProcesses processes = SourceProcesses.NONE.withLauncher(launcher);
        List<String> lines = new ArrayList<>();
        processes.lines(List.of("sh", "-c", "echo \"$TZ\"; echo two; exit 3"), 30, lines::add);
        assertThat(lines).as("lines are read whatever the exit status").containsExactly("UTC", "two");
        assertThat(launcher.environments.get(0)).containsEntry("TZ", "UTC");

        assertThatThrownBy(() -> processes.run(List.of("sh", "-c", "echo 'no such database' >&2; exit 2"), 30))
                .isInstanceOf(IOException.class).hasMessage("sh exited with status 2: no such database");
        assertThat(SourceProcesses.toolName(List.of("runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "status")))
                .isEqualTo("pg_ctl");
    }

    @Test
    void aToolThatCannotStartFailsTheRunNamingIt() {
        assertThatThrownBy(() -> SourceProcesses.NONE.run(List.of("/opt/missing/pg_dump", "--version"), 30))
                .isInstanceOf(IOException.class).hasMessageContaining("/opt/missing/pg_dump");
    }
}
