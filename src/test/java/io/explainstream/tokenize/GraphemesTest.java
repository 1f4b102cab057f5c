package io.explainstream.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class GraphemesTest {

    private static String starts(String text) {
        BitSet starts = Graphemes.starts(text);
        return starts.toString();
    }

    @Test
    void emojiSequencesFlagsAndCombiningMarksAreOneCharacterEach() {
        // H i ␠ 👩‍💻 (3..8) ␠: woman (2 units), ZWJ, laptop (2 units).
        assertEquals("{0, 1, 2, 3, 8}", starts("Hi \uD83D\uDC69\u200D\uD83D\uDCBB "));
        // 🇩🇪🇫🇷: two flags of two regional indicators (2 units each).
        assertEquals("{0, 4}", starts("\uD83C\uDDE9\uD83C\uDDEA\uD83C\uDDEB\uD83C\uDDF7"));
        // 👍🏽! : thumbs up with a skin tone, then '!'.
        assertEquals("{0, 4}", starts("\uD83D\uDC4D\uD83C\uDFFD!"));
        // é spelled e + U+0301, then x.
        assertEquals("{0, 2}", starts("e\u0301x"));
    }

    /** नमस्ते: न, म, and स्ते (sa, virama, ta, e-sign), as a browser draws it (GB9c, which JDK 17's regex lacks). */
    @Test
    void anIndicConjunctIsOneCharacter() {
        assertEquals("{0, 1, 2}", starts("\u0928\u092E\u0938\u094D\u0924\u0947"));
        assertTrue(Graphemes.continues("\u0928\u092E\u0938\u094D", "\u0924\u0947"));
        assertFalse(Graphemes.continues("\u0928\u092E", "\u0938\u094D"));
    }

    @Test
    void theContextBeforeDecidesWhereAFlagEnds() {
        String de = "\uD83C\uDDE9\uD83C\uDDEA";
        assertTrue(Graphemes.continues("\uD83C\uDDE9", "\uD83C\uDDEA"), "the second indicator completes the flag");
        assertFalse(Graphemes.continues(de, "\uD83C\uDDEB"), "a third starts a new flag");
        assertFalse(Graphemes.continues("", "x"));
        assertEquals("{}", starts(""));
    }
}
