package dev.backstop;

import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.UndefinedEnvironmentVariableException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${NAME}} in the configuration, from the environment (Dropwizard's substitutor, strict),
 * with two differences an operator notices: a line that is a YAML comment is left as it is (a
 * commented-out {@code ${SECRET}} must not stop the start), and when variables are unset, the
 * error names every one of them, not only the first.
 */
final class ConfigSubstitutor extends EnvironmentVariableSubstitutor {
    /** {@code ${NAME}} without a {@code :-default}. */
    private static final Pattern REQUIRED = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_.]*)}");
    private static final Pattern COMMENT = Pattern.compile("(?m)^(\\s*#.*)$");

    private final Function<String, String> environment;

    ConfigSubstitutor() {
        this(System::getenv);
    }

    ConfigSubstitutor(Function<String, String> environment) {
        super(true);
        this.environment = environment;
        setVariableResolver(environment::apply);
    }

    @Override
    public String replace(String source) {
        if (source == null) {
            return null;
        }
        StringBuilder escaped = new StringBuilder();
        Matcher comment = COMMENT.matcher(source);
        while (comment.find()) {
            comment.appendReplacement(escaped, Matcher.quoteReplacement(comment.group(1).replace("${", "$${")));
        }
        comment.appendTail(escaped);
        String text = escaped.toString();
        List<String> missing = new ArrayList<>();
        Matcher required = REQUIRED.matcher(COMMENT.matcher(source).replaceAll(""));
        while (required.find()) {
            if (environment.apply(required.group(1)) == null && !missing.contains(required.group(1))) {
                missing.add(required.group(1));
            }
        }
        if (!missing.isEmpty()) {
            throw new UndefinedEnvironmentVariableException((missing.size() == 1 ? "environment variable " : "environment variables ")
                    + String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " not set (the configuration names "
                    + (missing.size() == 1 ? "it" : "them") + " as ${...}; under systemd, in /etc/backstop/env)");
        }
        return super.replace(text);
    }

    /** For tests: a substitutor over a fixed environment. */
    static ConfigSubstitutor over(Map<String, String> environment) {
        return new ConfigSubstitutor(environment::get);
    }
}
