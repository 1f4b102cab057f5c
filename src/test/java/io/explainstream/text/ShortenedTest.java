package io.explainstream.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShortenedTest {

    private static final String DOG = "\uD83D\uDC36"; // 🐶, two UTF-16 units

    @Test
    void textWithinTheLimitIsKeptWhole() {
        assertEquals("abc", Shortened.cut("abc", 3));
        assertEquals("abc", Shortened.fit("abc", 3));
        assertEquals("ab" + DOG, Shortened.start("ab" + DOG, 4));
    }

    @Test
    void cutKeepsTheLimitAndMarksWhatWentFit() {
        assertEquals("abc…", Shortened.cut("abcdef", 3));
        assertEquals("ab…", Shortened.fit("abcdef", 3));
        assertEquals("abc", Shortened.start("abcdef", 3));
    }

    @Test
    void aCutNeverSplitsASurrogatePair() {
        // The limit falls between the two halves of the emoji: it goes whole, never half of it.
        assertEquals("ab…", Shortened.cut("ab" + DOG + "cd", 3));
        assertEquals("ab…", Shortened.fit("ab" + DOG + "cd", 4));
        assertEquals("ab", Shortened.start("ab" + DOG + "cd", 3));
        assertEquals("ab" + DOG + "…", Shortened.cut("ab" + DOG + "cd", 4));
        String many = DOG.repeat(100);
        for (int chars = 1; chars < many.length(); chars++) {
            String cut = Shortened.cut(many, chars);
            assertTrue(cut.codePoints().noneMatch(c -> Character.getType(c) == Character.SURROGATE), "no lone surrogate in " + chars + " units: " + cut);
            assertTrue(cut.length() <= chars + 1, "within the limit and its mark at " + chars);
        }
    }

    @Test
    void aLimitOfNothingKeepsOnlyTheMark() {
        assertEquals("…", Shortened.cut("abc", 0));
        assertEquals("…", Shortened.fit("abc", 1));
        assertEquals("", Shortened.start("abc", 0));
    }
}
