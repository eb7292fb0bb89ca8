package dev.backstop.resources;

import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Refuses request bodies above the configured size with 413, whether the client declares the length
 * or streams it chunked: the declared length is checked up front, and the stream is cut off when it
 * passes the limit, so an oversized body is never read whole.
 */
@PreMatching
@Priority(Priorities.AUTHENTICATION - 100)
public final class RequestBodyLimit implements ContainerRequestFilter {
    private final long maxBytes;

    public RequestBodyLimit(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        if (request.getLength() > maxBytes) {
            throw tooLarge();
        }
        if (request.hasEntity()) {
            request.setEntityStream(new Bounded(request.getEntityStream(), maxBytes, this));
        }
    }

    private BackstopException tooLarge() {
        return new BackstopException(ProblemType.PAYLOAD_TOO_LARGE,
                "Request bodies are limited to " + maxBytes + " bytes (api.maxRequestBodySize)");
    }

    private static final class Bounded extends FilterInputStream {
        private final long max;
        private final RequestBodyLimit owner;
        private long read;

        Bounded(InputStream in, long max, RequestBodyLimit owner) {
            super(in);
            this.max = max;
            this.owner = owner;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) {
            read += n;
            if (read > max) {
                throw owner.tooLarge();
            }
        }
    }
}
