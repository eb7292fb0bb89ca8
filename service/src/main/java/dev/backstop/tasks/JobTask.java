package dev.backstop.tasks;

import dev.backstop.api.JobView;
import dev.backstop.schedule.BackstopScheduler;
import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /tasks/job?name=snapshot.main-db&action=trigger|pause|resume} on the admin port: the
 * jobs API for operators on the host, without a token.
 */
public final class JobTask extends Task {
    private final BackstopScheduler scheduler;

    public JobTask(BackstopScheduler scheduler) {
        super("job");
        this.scheduler = scheduler;
    }

    @Override
    public void execute(Map<String, List<String>> parameters, PrintWriter output) {
        String name = first(parameters, "name");
        String action = first(parameters, "action");
        if (name == null || action == null) {
            output.println("usage: POST /tasks/job?name=<job>&action=trigger|pause|resume; jobs: "
                    + String.join(", ", scheduler.specs().keySet()));
            return;
        }
        JobView view = switch (action) {
            case "trigger" -> scheduler.trigger(name, "admin-task");
            case "pause" -> scheduler.pause(name, "admin-task");
            case "resume" -> scheduler.resume(name, "admin-task");
            default -> throw new IllegalArgumentException("action must be trigger, pause or resume, not '" + action + "'");
        };
        output.printf("%s %s: state %s, next fire %s%n", action, view.name(), view.state(), view.nextFireTime());
    }

    private static String first(Map<String, List<String>> parameters, String key) {
        List<String> values = parameters.get(key);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
