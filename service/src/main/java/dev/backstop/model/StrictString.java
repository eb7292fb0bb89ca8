package dev.backstop.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;

/**
 * A request field that must be a JSON string: {@code {"source": 5}} is the caller's mistake (400
 * naming the field), not the source named "5" (Jackson would turn the number into text).
 */
public final class StrictString extends StdDeserializer<String> {
    private static final long serialVersionUID = 1L;

    public StrictString() {
        super(String.class);
    }

    @Override
    public String deserialize(JsonParser parser, DeserializationContext context) throws IOException {
        if (parser.currentToken() == JsonToken.VALUE_STRING) {
            return parser.getText();
        }
        return (String) context.reportInputMismatch(String.class, "must be a string, not %s", describe(parser));
    }

    private static String describe(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean (" + parser.getText() + ")";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number (" + parser.getText() + ")";
            default -> parser.getText();
        };
    }
}
