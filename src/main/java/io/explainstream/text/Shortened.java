package io.explainstream.text;

/**
 * Text from the traffic or from an error, cut to a length limit where it is stored or shown: a
 * dead letter's reason header, a metric label, a line of a report. Limits count UTF-16 units, as
 * {@link String#length()} does, and a cut never splits a surrogate pair: half an emoji is a lone
 * surrogate, which UTF-8 writes as '?' and the event validator refuses.
 */
public final class Shortened {

    /** Marks where text was cut. */
    public static final String ELLIPSIS = "…";

    private Shortened() {}

    /**
     * {@code text} where it has at most {@code chars} units, else its {@link #start} and an
     * ellipsis (so at most {@code chars + 1} units): for limits that bound what is kept.
     */
    public static String cut(String text, int chars) {
        return text.length() <= chars ? text : start(text, chars) + ELLIPSIS;
    }

    /**
     * {@code text} where it has at most {@code width} units, else its start and an ellipsis in at
     * most {@code width} units: for a column or a line of a given width.
     */
    public static String fit(String text, int width) {
        return text.length() <= width ? text : start(text, width - 1) + ELLIPSIS;
    }

    /** The first {@code chars} units of {@code text} (all of it where shorter), one fewer where the cut would split a surrogate pair. */
    public static String start(String text, int chars) {
        if (text.length() <= chars) {
            return text;
        }
        if (chars <= 0) {
            return "";
        }
        return text.substring(0, Character.isHighSurrogate(text.charAt(chars - 1)) ? chars - 1 : chars);
    }
}
