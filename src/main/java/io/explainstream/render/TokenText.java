package io.explainstream.render;

/**
 * How text from the traffic is shown on a terminal: "▁" as a space in a vocabulary piece, and
 * every character that would act on the terminal instead of being shown escaped. Prompts and
 * responses are untrusted: an ESC sequence in a logged response would clear the screen, recolor
 * it or set the window's title, and a bidirectional override would reorder what is shown.
 */
public final class TokenText {

    private TokenText() {}

    static String display(String piece) {
        return visible(piece.replace('▁', ' '));
    }

    /** An event id as the terminal shows it: {@link #visible}, and an empty one said, not a blank (a dead letter's id may be empty). */
    public static String eventId(String id) {
        return id.isEmpty() ? "(empty id)" : visible(id);
    }

    /** {@code text} with newlines and tabs as \n and \t, other controls as \xNN, bidirectional controls as a backslash, u and four hex digits. */
    public static String visible(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                out.append("\\n");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (Character.isISOControl(c)) {
                out.append(String.format("\\x%02x", (int) c));
            } else if (actsOnLayout(c)) {
                out.append(spelled(c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * A name from the traffic (a segment's, a span's) shown on its own: {@link #visible}, and where
     * it starts with a combining mark, a dotted circle (U+25CC) before it as the mark's base, as
     * type specimens show a lone mark. Without it the mark joins the space or separator before it
     * ("user 62% ·́ doc 30%"), and a name of marks alone is not seen at all.
     */
    public static String name(String text) {
        String shown = visible(text);
        return !shown.isEmpty() && isCombiningMark(shown.codePointAt(0)) ? "\u25CC" + shown : shown;
    }

    private static boolean isCombiningMark(int codePoint) {
        int type = Character.getType(codePoint);
        return type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK || type == Character.COMBINING_SPACING_MARK;
    }

    /**
     * The bidirectional embeddings, overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069,
     * U+200E, U+200F, U+061C), which reorder the text around them, and the line and paragraph
     * separators (U+2028, U+2029), which break a line where none is shown, and the invisible zero-width
     * space, word joiner and byte order mark (U+200B, U+2060, U+FEFF), which hide a difference between
     * two texts that read the same. Zero-width joiners and non-joiners stay: emoji sequences and
     * Persian and Indic words are made of them.
     */
    static boolean actsOnLayout(char c) {
        return (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || c == '\u200E' || c == '\u200F' || c == '\u061C'
                || c == '\u2028' || c == '\u2029' || c == '\u200B' || c == '\u2060' || c == '\uFEFF';
    }

    /** A character that acts on layout as people would type it: a backslash, u and four hex digits. */
    static String spelled(char c) {
        return String.format(java.util.Locale.ROOT, "\\u%04x", (int) c);
    }
}
