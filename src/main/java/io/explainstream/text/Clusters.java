package io.explainstream.text;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A walk over a text's user-perceived characters: its extended grapheme clusters (an emoji with its
 * joiners and modifiers, a flag, a letter with its accents), with Indic conjuncts kept whole as
 * Unicode 15.1 and browsers keep them. Text is cut ({@link Shortened}) and measured
 * ({@link Columns}) on these boundaries only. The walk reads no further than asked, so a cut at the
 * start of a megabyte prompt reads its start only.
 */
final class Clusters {

    private static final Pattern CLUSTER = Pattern.compile("\\X");

    /** The viramas Unicode 15.1 names as conjunct linkers (Indic_Conjunct_Break=Linker). */
    private static final String VIRAMAS = "\u094D\u09CD\u0ACD\u0B4D\u0C4D\u0D4D";

    private final String text;
    private final Matcher cluster;
    private int start;
    private int end;

    Clusters(String text) {
        this.text = text;
        this.cluster = CLUSTER.matcher(text);
    }

    /** Moves to the next user-perceived character; false at the end of the text. */
    boolean next() {
        start = end;
        while (cluster.find()) {
            if (!joinsNext(cluster.end())) {
                end = cluster.end();
                return true;
            }
        }
        return false;
    }

    /** Where the current character starts (a UTF-16 index). */
    int start() {
        return start;
    }

    /** Where the current character ends (a UTF-16 index, exclusive). */
    int end() {
        return end;
    }

    /**
     * Whether the boundary Java 17's {@code \X} finds at {@code at} lies inside an Indic conjunct:
     * after a virama and before a letter (स्|ते), which Unicode 15.1's grapheme rules join.
     */
    private boolean joinsNext(int at) {
        return at > 0 && at < text.length() && VIRAMAS.indexOf(text.charAt(at - 1)) >= 0 && Character.isLetter(text.codePointAt(at));
    }
}
