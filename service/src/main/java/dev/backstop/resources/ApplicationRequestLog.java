package dev.backstop.resources;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.dropwizard.request.logging.RequestLogFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;

/**
 * Keeps the admin port out of the access log. Health probes and metric scrapes arrive every few
 * seconds and say nothing an access log needs, and building a logback-access event for each of them
 * costs more than answering them. Wraps whatever request log the configuration builds.
 */
public final class ApplicationRequestLog implements RequestLogFactory<RequestLog> {
    /** Dropwizard's name for the admin connector. */
    static final String ADMIN_CONNECTOR = "admin";

    private final RequestLogFactory<?> configured;

    public ApplicationRequestLog(RequestLogFactory<?> configured) {
        this.configured = configured;
    }

    @Override
    @JsonIgnore
    public boolean isEnabled() {
        return configured.isEnabled();
    }

    @Override
    public RequestLog build(String name) {
        RequestLog delegate = configured.build(name);
        return (request, response) -> {
            if (!isAdmin(request)) {
                delegate.log(request, response);
            }
        };
    }

    static boolean isAdmin(Request request) {
        Connector connector = request.getConnectionMetaData().getConnector();
        return connector != null && ADMIN_CONNECTOR.equals(connector.getName());
    }

}
