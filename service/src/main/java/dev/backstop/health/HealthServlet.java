package dev.backstop.health;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** Serves one endpoint's cached document: no probe runs on the request thread. */
public final class HealthServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private final transient HealthMonitor monitor;
    private final HealthEndpoint endpoint;

    public HealthServlet(HealthMonitor monitor, HealthEndpoint endpoint) {
        this.monitor = monitor;
        this.endpoint = endpoint;
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        HealthReport report = monitor.report(endpoint);
        response.setStatus(report.status().httpStatus());
        response.setContentType(HealthMonitor.MEDIA_TYPE);
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(report.body().length);
        response.getOutputStream().write(report.body());
    }
}
