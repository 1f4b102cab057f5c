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
    void aCutNeverSplitsWhatReadsAsOneCharacter() {
        String coder = "\uD83D\uDC69\u200D\uD83D\uDCBB"; // 👩‍💻: woman, zero-width joiner, laptop (5 units)
        String flag = "\uD83C\uDDEB\uD83C\uDDF7"; // 🇫🇷: two regional indicators (4 units)
        String accented = "e\u0301"; // e and a combining acute accent
        for (int chars = 3; chars < 7; chars++) {
            assertEquals("ab…", Shortened.cut("ab" + coder + "cd", chars), "the coder whole or not at all at " + chars);
            assertEquals(chars < 6 ? "ab…" : "ab" + flag + "…", Shortened.cut("ab" + flag + "cd", chars), "the flag at " + chars);
        }
        assertEquals("ab" + coder + "…", Shortened.cut("ab" + coder + "cd", 7));
        assertEquals("al…", Shortened.cut("al" + accented + "x", 3), "not 'ale', which says another word");
        assertEquals("al" + accented + "…", Shortened.cut("al" + accented + "xy", 4));
        assertEquals("ab…", Shortened.fit("ab" + flag + "cd", 6));
    }

    @Test
    void aCharacterLongerThanTheLimitIsCutBetweenCodePoints() {
        String zalgo = "e" + "\u0301".repeat(300);
        assertEquals("e" + "\u0301".repeat(9) + "…", Shortened.cut(zalgo, 10));
        assertEquals("\uD83D\uDC69…", Shortened.cut("\uD83D\uDC69\u200D\uD83D\uDCBB", 2));
        assertEquals("…", Shortened.cut("\uD83D\uDC69\u200D\uD83D\uDCBB", 1), "never half a surrogate pair");
    }

    @Test
    void anIndicConjunctStaysWhole() {
        // नमस्ते: न म स ् त े; Java 17's \X ends a character after the virama (स्|ते), Unicode 15.1 and browsers do not.
        String namaste = "\u0928\u092E\u0938\u094D\u0924\u0947";
        assertEquals("ab\u0928\u092E…", Shortened.cut("ab" + namaste, 6), "not स् with its virama dangling");
        assertEquals("ab\u0928\u092E…", Shortened.cut("ab" + namaste, 7));
        assertEquals("ab" + namaste, Shortened.cut("ab" + namaste, 8));
    }

    @Test
    void aCharacterLongerThanTheLimitLeavesNoJoinerOrHalfFlagAtTheCut() {
        assertEquals("…", Shortened.cut("\uD83C\uDDEB\uD83C\uDDF7\uD83C\uDDEB\uD83C\uDDF7", 3), "not half of 🇫🇷");
        assertEquals("\uD83C\uDFF3\uFE0F…", Shortened.cut("\uD83C\uDFF3\uFE0F\u200D\uD83C\uDF08", 5), "🏳️ of 🏳️‍🌈, not a joiner");
        String family = "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67\u200D\uD83D\uDC66"; // 👨‍👩‍👧‍👦, 11 units
        assertEquals("\uD83D\uDC68\u200D\uD83D\uDC69…", Shortened.fit(family, 7), "in a 7-column cell");
        // A character longer than the limit after others: its first part shows, not only what came before it.
        assertEquals("[\"a" + "\u0301".repeat(37) + "…", Shortened.cut("[\"a" + "\u0301".repeat(3000) + "\"]", 40));
    }

    @Test
    void aLimitOfNothingKeepsOnlyTheMark() {
        assertEquals("…", Shortened.cut("abc", 0));
        assertEquals("…", Shortened.fit("abc", 1));
        assertEquals("", Shortened.start("abc", 0));
    }
}
