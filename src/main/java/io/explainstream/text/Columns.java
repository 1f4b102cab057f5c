package io.explainstream.text;

import java.util.Arrays;

/**
 * How many terminal columns text takes, and text padded or cut to a column width: the tables
 * {@code attribute} and {@code diff} print line up on a terminal only if their cells are measured
 * as it draws them, not in UTF-16 units ({@code %-16s} counts 5 for 👩‍💻, which takes 2 columns,
 * and 2 for "中文", which takes 4).
 *
 * <p>A user-perceived character takes two columns where it holds an East Asian wide or fullwidth
 * character (CJK, Hangul, kana, fullwidth forms), an emoji drawn as such (the emoji blocks, or any
 * character with the emoji presentation selector U+FE0F) or a flag (two regional indicators); none
 * where it holds only marks, joiners and other format characters; one otherwise. This is what
 * {@code wcwidth} and the common terminals do for the same text.
 */
public final class Columns {

    /**
     * Ranges (first, last, inclusive) of East Asian Width W and F code points, from Unicode's
     * EastAsianWidth.txt, with the emoji blocks whose pictographs terminals draw two columns wide.
     */
    private static final int[] WIDE = {
        0x1100, 0x115F, 0x231A, 0x231B, 0x2329, 0x232A, 0x23E9, 0x23EC, 0x23F0, 0x23F0, 0x23F3, 0x23F3,
        0x25FD, 0x25FE, 0x2614, 0x2615, 0x2648, 0x2653, 0x267F, 0x267F, 0x2693, 0x2693, 0x26A1, 0x26A1,
        0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26CE, 0x26CE, 0x26D4, 0x26D4, 0x26EA, 0x26EA,
        0x26F2, 0x26F3, 0x26F5, 0x26F5, 0x26FA, 0x26FA, 0x26FD, 0x26FD, 0x2705, 0x2705, 0x270A, 0x270B,
        0x2728, 0x2728, 0x274C, 0x274C, 0x274E, 0x274E, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
        0x27B0, 0x27B0, 0x27BF, 0x27BF, 0x2B1B, 0x2B1C, 0x2B50, 0x2B50, 0x2B55, 0x2B55, 0x2E80, 0x2E99,
        0x2E9B, 0x2EF3, 0x2F00, 0x2FD5, 0x2FF0, 0x2FFB, 0x3000, 0x303E, 0x3041, 0x3096, 0x3099, 0x30FF,
        0x3105, 0x312F, 0x3131, 0x318E, 0x3190, 0x31E3, 0x31F0, 0x321E, 0x3220, 0x3247, 0x3250, 0x4DBF,
        0x4E00, 0xA48C, 0xA490, 0xA4C6, 0xA960, 0xA97C, 0xAC00, 0xD7A3, 0xF900, 0xFAFF, 0xFE10, 0xFE19,
        0xFE30, 0xFE52, 0xFE54, 0xFE66, 0xFE68, 0xFE6B, 0xFF01, 0xFF60, 0xFFE0, 0xFFE6, 0x16FE0, 0x16FE4,
        0x17000, 0x18CFF, 0x1B000, 0x1B2FF, 0x1F004, 0x1F004, 0x1F0CF, 0x1F0CF, 0x1F18E, 0x1F18E,
        0x1F191, 0x1F19A, 0x1F200, 0x1F202, 0x1F210, 0x1F23B, 0x1F240, 0x1F248, 0x1F250, 0x1F251,
        0x1F260, 0x1F265, 0x1F300, 0x1F320, 0x1F32D, 0x1F335, 0x1F337, 0x1F37C, 0x1F37E, 0x1F393,
        0x1F3A0, 0x1F3CA, 0x1F3CF, 0x1F3D3, 0x1F3E0, 0x1F3F0, 0x1F3F4, 0x1F3F4, 0x1F3F8, 0x1F43E,
        0x1F440, 0x1F440, 0x1F442, 0x1F4FC, 0x1F4FF, 0x1F53D, 0x1F54B, 0x1F54E, 0x1F550, 0x1F567,
        0x1F57A, 0x1F57A, 0x1F595, 0x1F596, 0x1F5A4, 0x1F5A4, 0x1F5FB, 0x1F64F, 0x1F680, 0x1F6C5,
        0x1F6CC, 0x1F6CC, 0x1F6D0, 0x1F6D2, 0x1F6D5, 0x1F6D7, 0x1F6DC, 0x1F6DF, 0x1F6EB, 0x1F6EC,
        0x1F6F4, 0x1F6FC, 0x1F7E0, 0x1F7EB, 0x1F7F0, 0x1F7F0, 0x1F90C, 0x1F93A, 0x1F93C, 0x1F945,
        0x1F947, 0x1F9FF, 0x1FA70, 0x1FAFF, 0x20000, 0x2FFFD, 0x30000, 0x3FFFD,
    };

    private static final int EMOJI_PRESENTATION = 0xFE0F;

    private Columns() {}

    /** The columns {@code text} takes on a terminal. */
    public static int width(String text) {
        int width = 0;
        Clusters characters = new Clusters(text);
        while (characters.next()) {
            width += width(text, characters);
        }
        return width;
    }

    /** {@code text} followed by spaces to {@code columns} columns (as it is where it is wider): a left-aligned cell. */
    public static String padEnd(String text, int columns) {
        return text + " ".repeat(Math.max(0, columns - width(text)));
    }

    /** Spaces then {@code text} to {@code columns} columns (as it is where it is wider): a right-aligned cell. */
    public static String padStart(String text, int columns) {
        return " ".repeat(Math.max(0, columns - width(text))) + text;
    }

    /**
     * {@code text} where it takes at most {@code columns} columns, else its longest start of whole
     * user-perceived characters that leaves a column for an ellipsis, and the ellipsis.
     */
    public static String fit(String text, int columns) {
        int used = 0;
        int kept = -1; // where the start that leaves a column for the ellipsis ends, once one is past it
        Clusters characters = new Clusters(text);
        while (characters.next()) {
            used += width(text, characters);
            if (kept < 0 && used > columns - 1) {
                kept = characters.start();
            }
            if (used > columns) {
                return columns <= 0 ? "" : text.substring(0, kept) + Shortened.ELLIPSIS;
            }
        }
        return text;
    }

    /** The columns of the user-perceived character the walk is at. */
    private static int width(String text, Clusters character) {
        boolean shown = false;
        int indicators = 0;
        for (int at = character.start(); at < character.end(); at += Character.charCount(text.codePointAt(at))) {
            int codePoint = text.codePointAt(at);
            if (codePoint == EMOJI_PRESENTATION || isWide(codePoint)) {
                return 2;
            }
            if (codePoint >= 0x1F1E6 && codePoint <= 0x1F1FF) {
                indicators++;
            }
            shown |= !takesNoColumn(codePoint);
        }
        return indicators >= 2 ? 2 : shown ? 1 : 0;
    }

    static boolean isWide(int codePoint) {
        int at = Arrays.binarySearch(WIDE, codePoint);
        // Found: a range's first or last. Not found: inside a range where it would go after a first (an even index).
        return at >= 0 || (-at - 1) % 2 == 1;
    }

    /** Marks over the character before, joiners and other format characters, and the Hangul vowels and finals that join an initial. */
    private static boolean takesNoColumn(int codePoint) {
        int type = Character.getType(codePoint);
        return type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK || type == Character.FORMAT || type == Character.CONTROL
                || (codePoint >= 0x1160 && codePoint <= 0x11FF);
    }
}
