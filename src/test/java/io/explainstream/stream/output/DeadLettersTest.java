package io.explainstream.stream.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.stream.ingest.SourcePosition;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    private static final SourcePosition SOURCE = new SourcePosition("in", 0, 7, 0);

    private static String reasonHeader(String message) {
        var record = new DeadLetters(1 << 20).record(new byte[0], new byte[0], SOURCE, DeadLetters.Stage.VALIDATION,
                new IllegalArgumentException(message), "explainstream", 0);
        return new String(record.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8);
    }

    /** UTF-8 has no form for a lone surrogate: written as is, the header would say '?' where the input had it. */
    @Test
    void aLoneSurrogateInTheReasonIsWrittenAsItsEscape() {
        assertEquals("role = 'user\\uD800' is not a chat role, 👩‍💻 stays", reasonHeader("role = 'user\uD800' is not a chat role, 👩‍💻 stays"));
    }

    /** A NUL hides the rest of the reason in a terminal, U+202E turns it around: both are written as escapes; a joiner in an emoji stays. */
    @Test
    void controlAndBidiCharactersInTheReasonAreWrittenAsEscapes() {
        assertEquals("messages[0].role = '\\u202E\\u0000x\\u000A' is not a chat role, 👩‍💻 stays",
                reasonHeader("messages[0].role = '\u202E\u0000x\n' is not a chat role, 👩‍💻 stays"));
    }

    @Test
    void aLongReasonIsCutBetweenCharactersNotInsideASurrogatePair() {
        String message = "x".repeat(DeadLetters.MAX_REASON_CHARS - 1) + "\uD83D\uDCBB and more";
        assertEquals("x".repeat(DeadLetters.MAX_REASON_CHARS - 1) + "…", reasonHeader(message));
        assertEquals("x".repeat(DeadLetters.MAX_REASON_CHARS) + "…", reasonHeader("x".repeat(DeadLetters.MAX_REASON_CHARS + 5)));
    }

    /**
     * A header another producer wrote in another encoding: each byte that is not UTF-8 is read as
     * its escape, so that tail shows which bytes they were, not replacement characters.
     */
    @Test
    void aHeaderThatIsNotUtf8IsReadWithEachInvalidByteAsItsEscape() {
        var headers = new org.apache.kafka.common.header.internals.RecordHeaders();
        headers.add(DeadLetters.REASON, new byte[] {'c', 'a', 'f', (byte) 0xE9, ' ', (byte) 0xC3, (byte) 0xA9, ' ', (byte) 0xC0, (byte) 0xAF, ' ', (byte) 0xE2, (byte) 0x82});
        assertEquals("caf\\xe9 é \\xc0\\xaf \\xe2\\x82", DeadLetter.header(headers, DeadLetters.REASON));
        headers.add(DeadLetters.STAGE, "validation".getBytes(StandardCharsets.UTF_8));
        assertEquals("validation", DeadLetter.header(headers, DeadLetters.STAGE));
    }
}
