package dev.backstop.auth;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** API roles, each including the ones before it: reader &lt; operator &lt; admin. */
public enum Role {
    READER, OPERATOR, ADMIN;

    /** Role names as written in {@code @RolesAllowed}. */
    public static final String READER_NAME = "reader";
    public static final String OPERATOR_NAME = "operator";
    public static final String ADMIN_NAME = "admin";

    public boolean includes(Role other) {
        return ordinal() >= other.ordinal();
    }

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Role parse(String text) {
        for (Role role : values()) {
            if (role.wire().equals(text)) {
                return role;
            }
        }
        throw new IllegalArgumentException("unknown role '" + text + "'; expected one of "
                + Arrays.stream(values()).map(Role::wire).collect(Collectors.joining(", ")));
    }
}
