package io.explainstream.text;

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

    /**
     * More UTF-16 units than any emoji sequence has (tag-sequence flags and kisses with skin tones
     * have 14 or 15): a longer character is a letter under stacked marks, cut inside rather than
     * dropped with its letter.
     */
    private static final int LONGEST_EMOJI = 32;

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
     * units (all of it where shorter). A character longer than the limit that would leave nothing
     * (a family emoji in a 7-column cell), or a letter under more marks than any emoji has units, is
     * cut between code points instead, so that its first part shows, without a joiner left at the
     * end or half of a flag.
     */
    public static String start(String text, int chars) {
        if (text.length() <= chars) {
            return text;
        }
        if (chars <= 0) {
            return "";
        }
        Clusters characters = new Clusters(text);
        while (characters.next()) {
            if (characters.end() > chars) {
                int length = characters.end() - characters.start();
                boolean cutInside = length > chars && (characters.start() == 0 || length > LONGEST_EMOJI);
                return cutInside ? withinCluster(text, chars) : text.substring(0, characters.start());
            }
        }
        return text;
    }

    /** The first code points of {@code text} within {@code chars} units, less a joiner or an unpaired regional indicator at the end. */
    private static String withinCluster(String text, int chars) {
        int end = Character.isHighSurrogate(text.charAt(chars - 1)) ? chars - 1 : chars;
        while (end > 0 && text.charAt(end - 1) == '\u200D') {
            end--;
        }
        int indicators = 0;
        for (int at = end; at >= 2 && isRegionalIndicator(text.codePointBefore(at)); at -= 2) {
            indicators++;
        }
        return text.substring(0, indicators % 2 == 1 ? end - 2 : end);
    }

    private static boolean isRegionalIndicator(int codePoint) {
        return codePoint >= 0x1F1E6 && codePoint <= 0x1F1FF;
    }
}
