package dev.backstop.resources.errors;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.api.Problem;
import dev.backstop.core.ProblemType;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty answers itself, before Jersey sees the request (an ambiguous encoded path such as
 * {@code ..%2F..}, a header too large, a servlet error), as problem+json like every other error
 * of the application port, instead of Jetty's HTML page. Never includes a stack trace.
 */
public final class ProblemErrorHandler extends org.eclipse.jetty.server.handler.ErrorHandler {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ProblemErrorHandler() {
        setShowStacks(false);
        setShowCauses(false);
    }

    /** Every error, whatever the client accepts and wherever Jetty raised it. */
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Object message = request.getAttribute(ERROR_MESSAGE);
        generateResponse(request, response, response.getStatus(), message == null ? null : message.toString(), null, callback);
        return true;
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
            Callback callback) throws IOException {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problem.MEDIA_TYPE);
        response.write(true, ByteBuffer.wrap(body(code, message, request.getHttpURI().getPath())), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(new HttpField(HttpHeader.CONTENT_TYPE, Problem.MEDIA_TYPE));
        return ByteBuffer.wrap(body(status, reason, null));
    }

    static byte[] body(int status, String message, String path) {
        ProblemType type = ProblemType.forStatus(status);
        String detail = message == null || message.isBlank() ? type.title() : message;
        if (status == 400 && detail.toLowerCase(java.util.Locale.ROOT).contains("ambiguous")) {
            detail += ": the path holds an encoded '/' or '..' segment (%2F, %2E); use plain ids and names";
        }
        try {
            return JSON.writeValueAsBytes(new Problem(type.uri(), type.title(), status, detail, path, null));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a problem document", e);
        }
    }
}
