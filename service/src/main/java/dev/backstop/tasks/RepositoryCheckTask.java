package dev.backstop.tasks;

import dev.backstop.repository.RepositoryCheck;
import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /tasks/check-repository} on the admin port: reads every pack of every target's
 * repository and checks every chunk; prints one line per target and one per damaged pack with the
 * snapshots that name it.
 */
public final class RepositoryCheckTask extends Task {
    private final RepositoryCheck check;

    public RepositoryCheckTask(RepositoryCheck check) {
        super("check-repository");
        this.check = check;
    }

    @Override
    public void execute(Map<String, List<String>> parameters, PrintWriter output) {
        for (RepositoryCheck.Report report : check.checkAll()) {
            output.printf("%s: %d packs, %d chunks, %d bytes read, %s; %d damaged%n", report.target(), report.packs(), report.chunks(),
                    report.bytes(), report.contentVerified() ? "contents verified" : "stored bytes verified (no private key here)",
                    report.damaged().size());
            for (RepositoryCheck.Damage damage : report.damaged()) {
                output.printf("  damaged %s: %s; snapshots: %s%n", damage.pack(), damage.reason(), String.join(", ", damage.snapshots()));
            }
        }
    }
}
