package io.explainstream.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TokenTextTest {

    @Test
    void aNameThatStartsWithACombiningMarkGetsADottedCircleAsItsBase() {
        // Shown after "user 62% · ", a lone acute accent would sit on the separator's space and be missed.
        assertEquals("\u25CC\u0301\u0301", TokenText.name("\u0301\u0301"));
        assertEquals("\u25CC\u20DD", TokenText.name("\u20DD")); // an enclosing mark
        assertEquals("\u25CC\u0903x", TokenText.name("\u0903x")); // a spacing mark (Devanagari visarga)
    }

    @Test
    void otherNamesAreShownAsVisibleShowsThem() {
        assertEquals("doc:e\u0301t\u00e9", TokenText.name("doc:e\u0301t\u00e9"));
        assertEquals("\uD83D\uDC36 dog", TokenText.name("\uD83D\uDC36 dog"));
        assertEquals("", TokenText.name(""));
        assertEquals("a\\nb\\u202e", TokenText.name("a\nb\u202E"));
        // Invisible characters that would hide a difference (helper-75: a zero-width space reached the terminal); joiners stay.
        assertEquals("evil\\u200b \\u2060 \\ufeff", TokenText.visible("evil\u200B \u2060 \uFEFF"));
        assertEquals("\uD83D\uDC69\u200D\uD83D\uDCBB \u0645\u06CC\u200C\u062E", TokenText.visible("\uD83D\uDC69\u200D\uD83D\uDCBB \u0645\u06CC\u200C\u062E"));
    }

    /**
     * An event id in the terminal: an empty one is said, as the alerts said it, in tail's dead
     * letters and diff's lists too (helper-76: diff printed a line of spaces before "[both: ...]").
     */
    @Test
    void anEmptyEventIdIsSaidAndOthersAreEscaped() {
        assertEquals("(empty id)", TokenText.eventId(""));
        assertEquals("e-1\\x1b[2J", TokenText.eventId("e-1\u001b[2J"));
        assertEquals(" ", TokenText.eventId(" "), "a space is an id, shown as it is");
    }
}
