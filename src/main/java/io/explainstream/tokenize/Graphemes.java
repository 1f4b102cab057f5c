package io.explainstream.tokenize;

import java.util.BitSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * User-perceived characters (extended grapheme clusters, UAX #29): 👩‍💻 is three code points and
 * one character, a flag is two regional indicators, e with a combining accent is one. The views
 * draw one cell per character and a prompt's cut keeps whole characters, so both ask here.
 */
public final class Graphemes {

    /**
     * One grapheme cluster. JDK 17's {@code BreakIterator.getCharacterInstance} splits ZWJ
     * sequences, flags and skin tones into their code points; the regex {@code \X} keeps them whole.
     */
    private static final Pattern GRAPHEME = Pattern.compile("\\X");

    /** The viramas that join consonants into one conjunct (Unicode 15.1, Indic_Conjunct_Break = Linker): Devanagari, Bengali, Gujarati, Oriya, Telugu, Malayalam. */
    private static final Set<Integer> CONJUNCT_LINKERS = Set.of(0x094D, 0x09CD, 0x0ACD, 0x0B4D, 0x0C4D, 0x0D4D);

    private Graphemes() {}

    /**
     * Whether the last character of {@code before} goes on into {@code after}. The whole of
     * {@code before} is the context, because some rules count back (a flag is a pair of regional
     * indicators, so the third starts a new one).
     */
    public static boolean continues(String before, String after) {
        if (before.isEmpty() || after.isEmpty()) {
            return false;
        }
        String text = before + after;
        int seam = before.length();
        Matcher grapheme = GRAPHEME.matcher(text);
        while (grapheme.find()) {
            if (grapheme.end() >= seam) {
                return grapheme.end() > seam || conjunctGoesOn(text, seam);
            }
        }
        return false;
    }

    /** The UTF-16 indices of {@code text} at which a character starts. */
    public static BitSet starts(String text) {
        BitSet starts = new BitSet(text.length());
        Matcher grapheme = GRAPHEME.matcher(text);
        while (grapheme.find()) {
            int start = grapheme.start();
            if (!conjunctGoesOn(text, start)) {
                starts.set(start);
            }
        }
        return starts;
    }

    /**
     * Unicode 15.1's rule GB9c, which JDK 17's {@code \X} (Unicode 13) lacks: a consonant, a
     * virama and the next consonant are one grapheme, so स् + ते in नमस्ते is one character, as
     * a browser draws it. True when the text before {@code seam} ends with a virama (marks may
     * follow it) and the text after starts with a consonant of the same script block.
     */
    private static boolean conjunctGoesOn(String text, int seam) {
        if (seam == 0 || seam == text.length()) {
            return false;
        }
        int linker = -1;
        for (int i = seam; i > 0; ) {
            int cp = text.codePointBefore(i);
            i -= Character.charCount(cp);
            if (CONJUNCT_LINKERS.contains(cp)) {
                linker = cp;
            } else if (Character.getType(cp) != Character.NON_SPACING_MARK && cp != 0x200D) {
                break;
            }
        }
        return linker >= 0 && isConsonantOfBlock(text.codePointAt(seam), linker & ~0x7F);
    }

    /** These six scripts keep the ISCII layout: consonants at offsets 0x15–0x39 of their 128-code-point block (and Devanagari's nukta forms at 0x58–0x5F). */
    private static boolean isConsonantOfBlock(int cp, int block) {
        int offset = cp - block;
        return offset >= 0x15 && offset <= 0x39 || block == 0x0900 && offset >= 0x58 && offset <= 0x5F;
    }
}
