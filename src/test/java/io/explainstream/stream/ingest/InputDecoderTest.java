package io.explainstream.stream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The reasons of JSON that does not read, as the dead letter gives them (the whole corpus: BadInputCorpusTest). */
class InputDecoderTest {

    private static String reason(String json) {
        InputDecoder decoder = new InputDecoder(InputFormat.JSON, null);
        return assertThrows(InvalidEventException.class, () -> decoder.decode("in", json.getBytes(StandardCharsets.UTF_8))).getMessage();
    }

    /**
     * A value that does not read is said by its field, and the JSON reader's advice to the
     * programmer ("enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow", a setting inside the
     * service) is left out (helper-76); a field given twice is said by the object that holds it.
     */
    @Test
    void aValueThatDoesNotReadIsSaidByItsFieldWithoutTheReadersAdvice() {
        assertEquals("value is not valid JSON (or not UTF-8) in timestamp: Non-standard token 'NaN'",
                reason("{\"event_id\":\"x\",\"prompt\":\"Once\",\"response\":\"x\",\"timestamp\":NaN}"));
        assertEquals("value is not valid JSON (or not UTF-8) in metadata['tier']: Unrecognized token 'gold': was expecting (JSON String, Number,"
                + " Array, Object or token 'null', 'true' or 'false')", reason("{\"event_id\":\"x\",\"metadata\":{\"tier\":gold}}"));
        assertEquals("value is not valid JSON (or not UTF-8) in messages[0]: Duplicate field 'role'",
                reason("{\"event_id\":\"x\",\"messages\":[{\"role\":\"user\",\"role\":\"user\"}]}"));
        assertEquals("value is not valid JSON (or not UTF-8): Duplicate field 'event_id'", reason("{\"event_id\":\"x\",\"event_id\":\"y\"}"));
        assertEquals("unknown field 'top_p', found number 0.9 (known: event_id, messages, metadata, model, prompt, prompt_token_ids, response,"
                + " response_token_ids, segments, timestamp)", reason("{\"event_id\":\"x\",\"timestamp\":1,\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\",\"top_p\":0.9}"));
    }

    /**
     * Each field's first problem is in the reason, every unknown field among them, up to eight
     * and "and N more" past that; the value that does not read at all is one problem.
     */
    @Test
    void everyFieldsProblemIsInTheReasonUpToEight() {
        assertEquals("2 problems: unknown field 'top_p', found number 0.9 (known: event_id, messages, metadata, model, prompt, prompt_token_ids,"
                + " response, response_token_ids, segments, timestamp); field 'response' must be a string, found null",
                reason("{\"event_id\":\"x\",\"timestamp\":1,\"model\":\"m\",\"prompt\":\"p\",\"response\":null,\"top_p\":0.9}"));
        StringBuilder unknown = new StringBuilder("{\"event_id\":\"x\",\"timestamp\":1,\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"");
        for (int i = 0; i < 11; i++) {
            unknown.append(",\"f").append(i).append("\":").append(i);
        }
        String reason = reason(unknown.append('}').toString());
        assertTrue(reason.startsWith("11 problems: unknown field 'f0', found number 0 "), reason);
        assertTrue(reason.contains("unknown field 'f7'") && !reason.contains("'f8'") && reason.endsWith("; and 3 more"), reason);
    }
}
