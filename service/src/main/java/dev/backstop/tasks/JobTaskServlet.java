package dev.backstop.tasks;

import dev.backstop.core.BackstopException;
import dev.backstop.schedule.BackstopScheduler;
import dev.backstop.schedule.JobView;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * {@code POST /tasks/job?name=snapshot.main-db&action=trigger|pause|resume} on the admin port: the
 * jobs API for operators on the host, without a token. A servlet of its own rather than a
 * Dropwizard {@code Task}, whose servlet answers every exception with 500: a mistyped job or
 * action here is 400 or 404 with a plain message that says what to send instead.
 */
public final class JobTaskServlet extends HttpServlet {
    public static final String PATH = "/tasks/job";

    private final transient BackstopScheduler scheduler;

    public JobTaskServlet(BackstopScheduler scheduler) {
        this.scheduler = scheduler;
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String name = request.getParameter("name");
        String action = request.getParameter("action");
        if (name == null || name.isBlank() || action == null || action.isBlank()) {
            reply(response, 400, usage());
            return;
        }
        try {
            JobView view = switch (action) {
                case "trigger" -> scheduler.trigger(name, "admin-task");
                case "pause" -> scheduler.pause(name, "admin-task");
                case "resume" -> scheduler.resume(name, "admin-task");
                default -> null;
            };
            if (view == null) {
                reply(response, 400, "action must be trigger, pause or resume, not '" + action + "'; " + usage());
                return;
            }
            reply(response, 200, String.format("%s %s: state %s, next fire %s", action, view.name(), view.state(),
                    view.nextFireTime()));
        } catch (BackstopException e) {
            reply(response, e.type().status(), e.getMessage());
        }
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setHeader("Allow", "POST");
        reply(response, 405, "use POST; " + usage());
    }

    private String usage() {
        return "usage: POST /tasks/job?name=<job>&action=trigger|pause|resume; jobs: "
                + String.join(", ", scheduler.specs().keySet());
    }

    private static void reply(HttpServletResponse response, int status, String text) throws IOException {
        response.setStatus(status);
        response.setContentType("text/plain;charset=utf-8");
        response.getWriter().println(text);
    }
}
