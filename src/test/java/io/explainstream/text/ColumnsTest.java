package io.explainstream.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ColumnsTest {

    private static final String CODER = "\uD83D\uDC69\u200D\uD83D\uDCBB"; // 👩‍💻: woman, zero-width joiner, laptop (5 units)
    private static final String FLAG = "\uD83C\uDDEB\uD83C\uDDF7"; // 🇫🇷: two regional indicators (4 units)
    private static final String HEART = "\u2764\uFE0F"; // ❤️: a text-default symbol with the emoji presentation selector

    @Test
    void latinTakesAColumnPerLetterWhateverItsMarks() {
        assertEquals(0, Columns.width(""));
        assertEquals(5, Columns.width("hello"));
        assertEquals(4, Columns.width("cafe\u0301"), "e and a combining acute are one column");
        assertEquals(1, Columns.width("a" + "\u0301".repeat(40)), "marks stack on their letter");
        assertEquals(3, Columns.width("\u0928\u092E\u0938\u094D\u0924\u0947"), "Devanagari नमस्ते: न, म and the conjunct स्ते");
    }

    @Test
    void eastAsianWideCharactersAndEmojiTakeTwoColumns() {
        assertEquals(4, Columns.width("中文"));
        assertEquals(10, Columns.width("こんにちは"));
        assertEquals(4, Columns.width("한국"), "precomposed Hangul syllables");
        assertEquals(2, Columns.width("\u1112\u1161\u11AB"), "a Hangul syllable in jamo: one wide character");
        assertEquals(8, Columns.width("ＦＵＬＬ"), "fullwidth forms");
        assertEquals(2, Columns.width("\uD83D\uDC36"), "🐶");
        assertEquals(2, Columns.width(CODER), "a ZWJ sequence draws one emoji");
        assertEquals(2, Columns.width("\uD83D\uDC4D\uD83C\uDFFD"), "👍🏽 with its skin tone");
        assertEquals(2, Columns.width(FLAG));
        assertEquals(2, Columns.width(HEART));
        assertEquals(1, Columns.width("\u2764"), "❤ without the selector is a one-column symbol");
        assertEquals(2, Columns.width("1\uFE0F\u20E3"), "a keycap");
        assertEquals(2, Columns.width("\uD840\uDC00"), "a CJK ideograph outside the basic plane (U+20000)");
    }

    @Test
    void joinersAndFormatCharactersAloneTakeNoColumn() {
        assertEquals(0, Columns.width("\u200D"));
        assertEquals(0, Columns.width("\u200B"));
        assertEquals(1, Columns.width("\u25CC\u0301"), "a mark on a dotted circle, as TokenText.name shows a lone mark");
    }

    @Test
    void theWideRangesAreFoundAtTheirEndsAndNotJustOutside() {
        assertTrue(Columns.isWide(0x1100));
        assertTrue(Columns.isWide(0x115F));
        assertFalse(Columns.isWide(0x1160));
        assertFalse(Columns.isWide(0x10FF));
        assertTrue(Columns.isWide(0xAC00));
        assertTrue(Columns.isWide(0xD7A3));
        assertFalse(Columns.isWide(0xD7A4));
        assertTrue(Columns.isWide(0x23F0), "a range of one");
        assertFalse(Columns.isWide(0x23F1));
        assertTrue(Columns.isWide(0x3FFFD));
        assertFalse(Columns.isWide(0x3FFFE));
        assertFalse(Columns.isWide('a'));
        assertFalse(Columns.isWide(0x1F1E6), "a lone regional indicator");
    }

    @Test
    void paddingCountsColumnsSoThatCellsLineUp() {
        for (String cell : new String[] {"ab", "中文", CODER, FLAG, "cafe\u0301", "ＦＵＬＬ", HEART}) {
            assertEquals(10, Columns.width(Columns.padEnd(cell, 10)), cell);
            assertEquals(10, Columns.width(Columns.padStart(cell, 10)), cell);
            assertTrue(Columns.padEnd(cell, 10).startsWith(cell));
            assertTrue(Columns.padStart(cell, 10).endsWith(cell));
        }
        assertEquals("中文" + "      ", Columns.padEnd("中文", 10));
        assertEquals("too wide", Columns.padEnd("too wide", 3), "text wider than the cell is kept whole");
    }

    @Test
    void fitCutsToTheColumnsWithAnEllipsisAndNeverHalfACharacter() {
        assertEquals("中文", Columns.fit("中文", 4));
        assertEquals("中…", Columns.fit("中文字", 4), "中文 and the ellipsis would take 5");
        assertEquals("中…", Columns.fit("中文字", 3));
        assertEquals("…", Columns.fit("中文字", 2));
        assertEquals("ab…", Columns.fit("ab" + CODER + "cd", 4), "the emoji whole or not at all");
        assertEquals("ab" + CODER + "…", Columns.fit("ab" + CODER + "cd", 5));
        assertEquals("cafe\u0301…", Columns.fit("cafe\u0301 au lait", 5), "the accent stays on its letter");
        assertEquals("", Columns.fit("abc", 0));
        for (int columns = 1; columns < 20; columns++) {
            String fitted = Columns.fit("中a" + CODER + FLAG + "ｂ한\u1112\u1161\u11ABe\u0301" + HEART, columns);
            assertTrue(Columns.width(fitted) <= columns, columns + " columns: " + fitted);
            assertTrue(fitted.codePoints().noneMatch(c -> Character.getType(c) == Character.SURROGATE), fitted);
        }
    }
}
