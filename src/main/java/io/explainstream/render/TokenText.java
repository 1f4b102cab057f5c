package io.explainstream.render;

/** How a vocabulary piece is shown to people: "▁" as a space, byte pieces and controls escaped. */
final class TokenText {

    private TokenText() {}

    static String display(String piece) {
        StringBuilder out = new StringBuilder();
        String text = piece.replace('▁', ' ');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                out.append("\\n");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (Character.isISOControl(c)) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
