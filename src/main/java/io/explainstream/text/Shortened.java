package io.explainstream.text;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Text from the traffic or from an error, cut to a length limit where it is stored or shown: a
 * dead letter's reason header, a metric label, a line of a report. Limits count UTF-16 units, as
 * {@link String#length()} does. A cut falls between two user-perceived characters (extended
 * grapheme clusters: an emoji with its joiners and modifiers, a flag, a letter with its accents),
 * so it never leaves half a flag, a dangling joiner or a letter without its accent, which would
 * show something the text did not say; and never half a surrogate pair, which UTF-8 writes as '?'.
 */
public final class Shortened {

    /** Marks where text was cut. */
    public static final String ELLIPSIS = "…";

    private static final Pattern CLUSTER = Pattern.compile("\\X");

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

    /**
     * The longest start of {@code text} of whole user-perceived characters within {@code chars}
     * units (all of it where shorter). Where the first such character alone is longer (a letter
     * with hundreds of marks), whole code points within the limit instead, so that something shows.
     */
    public static String start(String text, int chars) {
        if (text.length() <= chars) {
            return text;
        }
        if (chars <= 0) {
            return "";
        }
        Matcher cluster = CLUSTER.matcher(text);
        int end = 0;
        while (cluster.find() && cluster.end() <= chars) {
            end = cluster.end();
        }
        if (end > 0) {
            return text.substring(0, end);
        }
        return text.substring(0, Character.isHighSurrogate(text.charAt(chars - 1)) ? chars - 1 : chars);
    }
}
