package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.output.DeadLetter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DeadLetterLinesTest {

    private static DeadLetter letter(byte[] key) {
        return new DeadLetter(0, 7, key, "{\"event_id\":\"\"}".getBytes(StandardCharsets.UTF_8), "field 'event_id' is empty", "validation", null, "in", 0,
                7L, null, null, null, null, null);
    }

    /**
     * An empty key is said, as a missing one is (helper-76: "dead letter  · validation" left a blank
     * where diff and the alerts say "(empty id)").
     */
    @Test
    void anEmptyKeyIsSaidAsAMissingOneIs() {
        assertTrue(DeadLetterLines.text(letter(new byte[0])).startsWith("dead letter (empty key) · validation · in partition 0 offset 7\n"),
                DeadLetterLines.text(letter(new byte[0])));
        assertTrue(DeadLetterLines.text(letter(null)).startsWith("dead letter (no key) · validation"));
        assertTrue(DeadLetterLines.text(letter("conv-3".getBytes(StandardCharsets.UTF_8))).startsWith("dead letter conv-3 · validation"));
    }
}
