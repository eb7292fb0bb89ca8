package dev.backstop.auth;

import dev.backstop.api.Problem;
import dev.backstop.core.ProblemType;
import io.dropwizard.auth.UnauthorizedHandler;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

/** 401 as problem+json, with the challenge header RFC 6750 asks for. */
public final class ProblemUnauthorizedHandler implements UnauthorizedHandler {
    @Override
    public Response buildResponse(String prefix, String realm) {
        ProblemType type = ProblemType.UNAUTHORIZED;
        Problem problem = new Problem(type.uri(), type.title(), type.status(),
                "Send a valid API token as 'Authorization: Bearer <token>'. Without configured tokens, the "
                        + "service generates one on first start (see auth.generatedTokenFile).",
                null, null);
        return Response.status(type.status())
                .header(HttpHeaders.WWW_AUTHENTICATE, prefix + " realm=\"" + realm + "\"")
                .type(Problem.MEDIA_TYPE)
                .entity(problem)
                .build();
    }
}
