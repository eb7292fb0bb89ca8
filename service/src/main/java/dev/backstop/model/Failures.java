package dev.backstop.model;

import java.util.ArrayList;
import java.util.List;

/** How a failure is described to a person: the one place that walks a cause chain. */
public final class Failures {
    private Failures() {}

    /** The failure and its causes, outermost first (a cause that is its own cause ends the chain). */
    public static List<Throwable> chain(Throwable failure) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable t = failure; t != null && chain.size() < 50; t = t.getCause() == t ? null : t.getCause()) {
            chain.add(t);
        }
        return chain;
    }

    /** A throwable's message, or its class's simple name when it has none. */
    public static String message(Throwable t) {
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** For the catalog and API: the messages down the cause chain, each once, joined by ": ", no stack trace. */
    public static String reason(Throwable failure) {
        StringBuilder reason = new StringBuilder();
        for (Throwable t : chain(failure)) {
            if (reason.length() >= 2000) {
                break;
            }
            String message = message(t);
            if (reason.indexOf(message) < 0) {
                reason.append(reason.length() > 0 ? ": " : "").append(message);
            }
        }
        return reason.length() > 4000 ? reason.substring(0, 4000) : reason.toString();
    }

    /** The innermost cause's message. */
    public static String rootMessage(Throwable failure) {
        List<Throwable> chain = chain(failure);
        return message(chain.get(chain.size() - 1));
    }
}
