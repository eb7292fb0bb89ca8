package dev.backstop.health;

/** HTML built by appending escaped text and trusted markup (the status page). */
final class StatusHtml {
    private final StringBuilder out = new StringBuilder(8192);

    StatusHtml raw(String markup) {
        out.append(markup);
        return this;
    }

    StatusHtml text(String text) {
        if (text == null) {
            return this;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return this;
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
