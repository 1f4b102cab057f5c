package io.explainstream.stream.topology;

import io.explainstream.schema.Explanation;
import io.explainstream.stream.output.DeadLetters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * The bad-input corpus of docs/bad-input.md, kept as test data: one record per kind of bad input,
 * with what the service must do with it. Run on the TopologyTestDriver by {@code BadInputCorpusTest}
 * and against a real broker by {@code BadInputOnBrokerTest}.
 */
public final class BadInputCorpus {

    private BadInputCorpus() {}

    /** A dead letter as read back from the dead-letter topic. */
    public record DeadLetter(byte[] key, byte[] value, Headers headers) {}

    /**
     * What went wrong with one kind, or null, given what the service did with it: its explanation
     * and its dead letter (each null when there is none) and the count of its skip reason.
     */
    public static String problem(Case bad, Explanation explanation, DeadLetter deadLetter, double skipCount) {
        String[] expected = bad.outcome().split(":", 2);
        switch (expected[0]) {
            case "dlq": {
                if (deadLetter == null) {
                    return "expected a dead letter, got none";
                }
                Header reason = deadLetter.headers().lastHeader(DeadLetters.REASON);
                String text = reason == null ? "" : new String(reason.value(), StandardCharsets.UTF_8);
                if (!text.contains(expected[1])) {
                    return "reason '" + text + "' lacks '" + expected[1] + "'";
                }
                if (deadLetter.headers().lastHeader(DeadLetters.OFFSET) == null) {
                    return "the dead letter has no source offset";
                }
                String valueProblem = deadLetterValueProblem(bad, deadLetter.key(), deadLetter.value(), deadLetter.headers());
                if (valueProblem != null) {
                    return valueProblem;
                }
                return explanation == null ? null : "also explained";
            }
            case "skipped":
                return explanation == null && deadLetter == null && skipCount == 1 ? null : "expected to be skipped as " + expected[1];
            default:
                if (explanation == null) {
                    return "expected an explanation";
                }
                if (expected[1].equals("truncated") && !explanation.getFlags().getPromptTruncated()) {
                    return "not flagged as truncated";
                }
                return deadLetter == null ? null : "also dead-lettered";
        }
    }

    /** The skip reason a case must be counted under, or null for a case that is not skipped. */
    public static String skipReason(Case bad) {
        return bad.outcome().startsWith("skipped:") ? bad.outcome().substring("skipped:".length()) : null;
    }

    /**
     * What is wrong with the value of a dead letter, or null: it must be the original bytes, or,
     * exactly when key and value exceed the record limit, their first bytes with the cut header.
     */
    private static String deadLetterValueProblem(Case bad, byte[] key, byte[] value, Headers headers) {
        int limit = ExplainTopology.Topics.DEFAULT_MAX_RECORD_BYTES;
        boolean mustCut = (key == null ? 0 : key.length) + (bad.value() == null ? 0 : bad.value().length) > limit;
        Header cut = headers.lastHeader(DeadLetters.CUT);
        if (mustCut != (cut != null)) {
            return mustCut ? "a dead letter over " + limit + " bytes is not cut" : "a dead letter is cut that fits";
        }
        if (!mustCut) {
            return Arrays.equals(bad.value(), value) ? null : "the dead letter does not carry the original bytes";
        }
        return value.length <= limit && Arrays.equals(Arrays.copyOf(bad.value(), value.length), value) ? null
                : "the cut dead letter is not the first bytes of the original";
    }

    public static final long NOW = System.currentTimeMillis();

    /**
     * A corpus entry: its value bytes and what must happen to it: {@code dlq:<part of the
     * reason>}, {@code skipped:<reason tag>} or {@code explained:<again|truncated>}.
     */
    public record Case(byte[] value, String outcome) {
        static Case dlq(String json, String reason) {
            return new Case(json == null ? null : json.getBytes(StandardCharsets.UTF_8), "dlq:" + reason);
        }
    }

    private static String event(String id, String extra) {
        return "{\"event_id\":\"" + id + "\",\"timestamp\":" + NOW + ",\"model\":\"stories260K\"" + extra + "}";
    }

    public static String good(String id) {
        return event(id, ",\"prompt\":\"One day,\",\"response\":\"a little girl named Lily\"");
    }

    /** Every kind, by name, in a fixed order; {@code framedGood} is a good event as Confluent-framed Avro. */
    public static Map<String, Case> cases(byte[] framedGood) {
        Map<String, Case> cases = new LinkedHashMap<>();
        cases.put("malformed-json", Case.dlq("{\"event_id\": \"x\", \"timestamp\": ", "value is not valid JSON"));
        cases.put("json-array", Case.dlq("[1, 2, 3]", "value must be a JSON object, found array"));
        cases.put("json-name-past-reader-limit", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"" + "k".repeat(60_000) + "\":\"v\"}"),
                "value is past a limit of the JSON reader (names up to 50000 characters, numbers up to 1000 digits, nesting up to 1000 levels): Name length"));
        cases.put("json-nested-past-reader-limit", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"k\":" + "[".repeat(1_001)
                + "]".repeat(1_001) + "}"), "value is past a limit of the JSON reader (names up to 50000 characters, numbers up to 1000 digits, nesting up to 1000"
                + " levels): Document nesting depth"));
        cases.put("wrong-type", Case.dlq(event("x", ",\"prompt\":7,\"response\":\"r\""), "field 'prompt' must be a string, found number 7"));
        // The reason quotes the value's first 40 characters; the 40th is the first half of an emoji, which goes whole, not halved.
        cases.put("wrong-type-cut-at-an-emoji", Case.dlq(event("x", ",\"prompt\":[\"a" + "\uD83D\uDC36".repeat(30) + "\"],\"response\":\"r\""),
                "field 'prompt' must be a string, found array [\"a" + "\uD83D\uDC36".repeat(18) + "…"));
        cases.put("missing-event-id", Case.dlq("{\"timestamp\":" + NOW + ",\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}", "field 'event_id' is missing"));
        cases.put("missing-prompt", Case.dlq(event("x", ",\"response\":\"r\""), "field 'prompt' or 'messages' is required"));
        cases.put("prompt-and-messages", Case.dlq(event("x", ",\"prompt\":\"p\",\"messages\":[{\"role\":\"user\",\"content\":\"c\"}],\"response\":\"r\""),
                "set either prompt or messages, not both"));
        cases.put("empty-prompt", Case.dlq(event("x", ",\"prompt\":\"\",\"response\":\"r\""), "field 'prompt' is empty"));
        cases.put("empty-response", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"\""), "field 'response' is empty"));
        cases.put("missing-response", Case.dlq(event("x", ",\"prompt\":\"p\""), "field 'response' is missing"));
        cases.put("unknown-field", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"temperature\":0.7"),
                "unknown field 'temperature', found number 0.7 (known: "));
        // A value that does not read is said by its field, and without the JSON reader's advice to enable one of its features (helper-76).
        cases.put("nan-value", Case.dlq("{\"event_id\":\"x\",\"prompt\":\"Once\",\"response\":\"x\",\"timestamp\":NaN}",
                "value is not valid JSON (or not UTF-8) in timestamp: Non-standard token 'NaN'"));
        cases.put("bare-word-in-metadata", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"tier\":gold}"),
                "value is not valid JSON (or not UTF-8) in metadata['tier']: Unrecognized token 'gold'"));
        cases.put("one-megabyte-prompt", Case.dlq(event("x", ",\"prompt\":\"" + "a ".repeat(524_288) + "\",\"response\":\"r\""),
                "bytes, more than limits.event.bytes = 1048576"));
        cases.put("prompt-over-token-limit", new Case(event("long", ",\"prompt\":\"" + "the cat sat. ".repeat(500) + "\",\"response\":\"and ran\"")
                .getBytes(StandardCharsets.UTF_8), "explained:truncated"));
        byte[] invalidUtf8 = event("x", ",\"prompt\":\"p\",\"response\":\"r\"").getBytes(StandardCharsets.UTF_8);
        invalidUtf8[invalidUtf8.length - 4] = (byte) 0xC3; // a lead byte followed by a quote
        String spanned = ",\"prompt\":\"One day, a girl\",\"response\":\"a little girl named Lily\",\"segments\":";
        cases.put("segments-overlap", Case.dlq(event("x", spanned + "[{\"name\":\"a\",\"start\":0,\"end\":8},{\"name\":\"b\",\"start\":4,\"end\":15}]"),
                "segments[1] 'b' [4, 15) overlaps segments[0] 'a' [0, 8)"));
        cases.put("segments-out-of-range", Case.dlq(event("x", spanned + "[{\"name\":\"doc:1\",\"start\":9,\"end\":99}]"),
                "segments[0] 'doc:1': start = 9, end = 99 is out of range of the prompt's 15 characters"));
        cases.put("segments-offset-past-int", Case.dlq(event("x", spanned + "[{\"name\":\"doc\",\"start\":0,\"end\":1099511627776}]"),
                "segments[0].end = 1099511627776 is out of range: offsets are at most 2147483647"));
        // A hostile test read "found null null", "4.0" for its 4e0, and a message index called an offset.
        cases.put("segments-null-name", Case.dlq(event("x", spanned + "[{\"name\":null,\"start\":0,\"end\":3}]"),
                "segments[0].name must be a string, found null"));
        cases.put("segments-null-span", Case.dlq(event("x", spanned + "[null]"), "segments[0] must be an object {name, message, start, end}, found null"));
        cases.put("segments-exponent-offset", Case.dlq(event("x", spanned + "[{\"name\":\"doc\",\"start\":0,\"end\":4e0}]"),
                "segments[0].end = 4.0 is not an integer: offsets are written without a fraction or an exponent"));
        cases.put("segments-fractional-message", Case.dlq(event("x", spanned + "[{\"name\":\"doc\",\"message\":1.0,\"start\":0,\"end\":3}]"),
                "segments[0].message = 1.0 is not an integer: message indexes are written without a fraction or an exponent"));
        // café as é and as e + U+0301: one name on every page that shows it (a hostile test).
        cases.put("segments-names-equal-in-nfc", Case.dlq(event("x", ",\"prompt\":\"caf\u00e9 and cafe\u0301\",\"response\":\"r\",\"segments\":"
                + "[{\"name\":\"caf\u00e9\",\"start\":0,\"end\":4},{\"name\":\"cafe\u0301\",\"start\":9,\"end\":14}]"),
                "segments[1] 'cafe\u0301': the name is also segments[0]'s in another Unicode form (the same in NFC); give names that read alike"
                        + " one spelling"));
        // A hostile test: a name that reads as another, or as nothing; one of spaces called empty; a field twice in a span, said without where.
        cases.put("segments-invisible-name", Case.dlq(event("x", spanned + "[{\"name\":\"doc:a\u200b\",\"start\":0,\"end\":3}]"),
                "segments[0].name contains the invisible character U+200B at index 5: give names that read as they are"));
        cases.put("segments-blank-name", Case.dlq(event("x", spanned + "[{\"name\":\"   \",\"start\":0,\"end\":3}]"),
                "segments[0].name is only white space (3 characters)"));
        cases.put("segments-field-twice", Case.dlq(event("x", spanned + "[{\"name\":\"a\",\"name\":\"b\",\"start\":0,\"end\":3}]"),
                "value is not valid JSON (or not UTF-8) in segments[0]: Duplicate field 'name'"));
        cases.put("messages-unknown-field", Case.dlq(event("x", ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\",\"name\":\"bob\"}],\"response\":\"r\""),
                "messages[0] has an unknown field 'name' (known: content, role)"));
        // A null where a value is required is said as such, not as a missing field (a hostile test).
        cases.put("null-response", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":null"), "field 'response' must be a string, found null"));
        cases.put("null-message-content", Case.dlq(event("x", ",\"messages\":[{\"role\":\"user\",\"content\":null}],\"response\":\"r\""),
                "messages[0].content must be a string, found null"));
        cases.put("null-span-start", Case.dlq(event("x", spanned + "[{\"name\":\"doc\",\"start\":null,\"end\":3}]"),
                "segments[0].start must be an integer, found null"));
        cases.put("timestamp-with-exponent", Case.dlq("{\"event_id\":\"x\",\"timestamp\":1796424943737e0,\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}",
                "field 'timestamp' = 1.796424943737E12 is not a whole number: milliseconds are written without a fraction or an exponent"));
        cases.put("segments-empty-span", Case.dlq(event("x", spanned + "[{\"name\":\"doc\",\"start\":3,\"end\":3}]"),
                "segments[0] 'doc': start = 3, end = 3 holds no character: a span needs start < end"));
        cases.put("segments-name-padded", Case.dlq(event("x", spanned + "[{\"name\":\"prompt \",\"start\":0,\"end\":3}]"),
                "segments[0] 'prompt ': the name begins or ends with white space"));
        cases.put("segments-split-surrogate-pair", Case.dlq(event("x", ",\"prompt\":\"\\uD83D\\uDE00 One day\",\"response\":\"a girl\",\"segments\":"
                + "[{\"name\":\"doc\",\"start\":1,\"end\":5}]"), "segments[0] 'doc': start = 1 falls inside the character U+1F600"));
        cases.put("segments-name-with-escape", Case.dlq(event("x", spanned + "[{\"name\":\"\\u001b[2Jdoc\",\"start\":0,\"end\":3}]"),
                "segments[0].name contains the control character U+001B at index 0"));
        byte[] utf16 = event("x", ",\"prompt\":\"p\",\"response\":\"r\"").getBytes(StandardCharsets.UTF_16LE);
        byte[] withBom = new byte[utf16.length + 2];
        withBom[0] = (byte) 0xff;
        withBom[1] = (byte) 0xfe;
        System.arraycopy(utf16, 0, withBom, 2, utf16.length);
        cases.put("utf16-with-byte-order-mark", new Case(withBom, "dlq:value is not UTF-8: byte 0 is 0xff, as in UTF-16 or UTF-32 text"));
        cases.put("utf16-without-byte-order-mark", new Case(utf16, "dlq:value is not UTF-8: byte 1 is 0x00, as in UTF-16 or UTF-32 text"));
        cases.put("segments-built-in-name", Case.dlq(event("x", spanned + "[{\"name\":\"prompt\",\"start\":0,\"end\":3}]"),
                "segments[0] 'prompt': the name is reserved for the built-in segments (prompt, template, system, user[N], assistant[N])"));
        cases.put("segments-empty-name", Case.dlq(event("x", spanned + "[{\"name\":\"\",\"start\":0,\"end\":3}]"), "segments[0].name is empty"));
        cases.put("segments-long-name", Case.dlq(event("x", spanned + "[{\"name\":\"" + "n".repeat(129) + "\",\"start\":0,\"end\":3}]"),
                "segments[0].name is 129 characters, at most 128"));
        StringBuilder many = new StringBuilder("[");
        for (int i = 0; i < 65; i++) {
            many.append(i == 0 ? "" : ",").append("{\"name\":\"s").append(i).append("\",\"start\":0,\"end\":1}");
        }
        cases.put("segments-too-many", Case.dlq(event("x", spanned + many + "]"), "segments has 65 spans, at most 64"));
        cases.put("segments-message-out-of-range", Case.dlq(event("x", ",\"messages\":[{\"role\":\"user\",\"content\":\"One day,\"}],"
                + "\"response\":\"a girl\",\"segments\":[{\"name\":\"doc\",\"message\":2,\"start\":0,\"end\":3}]"),
                "segments[0] 'doc': message = 2 is out of range: the prompt has 1 messages"));
        cases.put("invalid-utf8", new Case(invalidUtf8, "dlq:the value is not valid UTF-8: the byte c3 at byte "));
        // Overlong forms and code points past U+10FFFF are not UTF-8, though Jackson reads the first as the character they spell.
        cases.put("overlong-utf8-prompt", new Case(withBytes(event("x", ",\"prompt\":\"Once XY upon\",\"response\":\"r\""), (byte) 0xC0, (byte) 0xAF),
                "dlq:field 'prompt' is not valid UTF-8: the bytes c0 af at byte "));
        cases.put("overlong-utf8-nul", new Case(withBytes(event("x", ",\"prompt\":\"pXY\",\"response\":\"r\""), (byte) 0xC0, (byte) 0x80),
                "dlq:field 'prompt' is not valid UTF-8: the bytes c0 80"));
        cases.put("overlong-utf8-event-id", new Case(withBytes(event("iXYZ", ",\"prompt\":\"p\",\"response\":\"r\""), (byte) 0xE0, (byte) 0x80, (byte) 0xAF),
                "dlq:field 'event_id' is not valid UTF-8: the bytes e0 80 af"));
        cases.put("utf8-past-u10ffff", new Case(withBytes(event("x", ",\"prompt\":\"p\",\"response\":\"rXYZW\""), (byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80),
                "dlq:field 'response' is not valid UTF-8: the bytes f4 90 80 80"));
        cases.put("overlong-utf8-metadata-value", new Case(withBytes(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"tenant\":\"aXY\"}"),
                (byte) 0xC1, (byte) 0xBF), "dlq:field 'metadata['tenant']' is not valid UTF-8: the bytes c1 bf"));
        // Bytes Jackson cannot decode stop its parser there: the field it was reading is named all the same.
        cases.put("cut-off-utf8-prompt", new Case(withBytes(event("x", ",\"prompt\":\"pXY q\",\"response\":\"r\""), (byte) 0xE2, (byte) 0x82),
                "dlq:field 'prompt' is not valid UTF-8: the bytes e2 82 at byte "));
        cases.put("stray-continuation-byte-event-id", new Case(withBytes(event("iX", ",\"prompt\":\"p\",\"response\":\"r\""), (byte) 0x80),
                "dlq:field 'event_id' is not valid UTF-8: the byte 80 at byte "));
        cases.put("cut-off-utf8-message", new Case(withBytes(event("x", ",\"messages\":[{\"role\":\"user\",\"content\":\"cXY d\"}],\"response\":\"r\""),
                (byte) 0xF0, (byte) 0x9F), "dlq:field 'messages[0].content' is not valid UTF-8: the bytes f0 9f"));
        cases.put("cut-off-utf8-metadata-key", new Case(withBytes(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"tXY\":\"v\"}"),
                (byte) 0xE2, (byte) 0x82), "dlq:a key of field 'metadata' is not valid UTF-8: the bytes e2 82"));
        cases.put("overlong-utf8-metadata-key", new Case(withBytes(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"tXY\":\"v\"}"),
                (byte) 0xC0, (byte) 0xAF), "dlq:a key of field 'metadata' is not valid UTF-8: the bytes c0 af"));
        cases.put("nul-byte", Case.dlq(event("x", ",\"prompt\":\"a\\u0000b\",\"response\":\"r\""), "field 'prompt' contains a NUL character at index 1"));
        byte[] unknownId = framedGood.clone();
        ByteBuffer.wrap(unknownId).putInt(1, 9999);
        cases.put("avro-unknown-schema-id", new Case(unknownId, "dlq:Avro value cannot be read: unknown schema id 9999"));
        byte[] wrongMagic = framedGood.clone();
        wrongMagic[0] = 1;
        cases.put("avro-wrong-magic-byte", new Case(wrongMagic, "dlq:value starts with byte 0x01: neither JSON nor Confluent-framed Avro"));
        cases.put("avro-truncated", new Case(Arrays.copyOf(framedGood, framedGood.length - 8), "dlq:truncated or corrupt Avro payload"));
        cases.put("avro-header-only", new Case(Arrays.copyOf(framedGood, 5), "dlq:truncated or corrupt Avro payload"));
        cases.put("token-ids-outside-vocabulary", Case.dlq(event("x", ",\"prompt\":\"One\",\"response\":\"day\",\"prompt_token_ids\":[1,99999]"),
                "prompt_token_ids[1] = 99999 is outside the vocabulary of 512 tokens"));
        cases.put("token-ids-of-another-tokenizer", Case.dlq(event("x", ",\"prompt\":\"One\",\"response\":\"day\",\"prompt_token_ids\":[1,7]"),
                "prompt_token_ids differ from the tokenizer's encoding at position 1"));
        // A continuation logged as generated (",", "▁there"): tokenized on its own, the response begins with a word start ("▁", ",", …).
        cases.put("response-token-ids-of-a-continuation", Case.dlq(event("x", ",\"prompt\":\"Once upon a time\",\"response\":\", there\","
                + "\"response_token_ids\":[432,383]"), "response_token_ids differ from the tokenizer's encoding at position 0 (logged 432, tokenizer 410):"
                + " the serving system used another tokenizer or template than model.dir's, or the response continues its prompt's last word"));
        // A response logged with its leading space: tokenized on its own, the space is a "▁" of its own before "▁there".
        cases.put("response-token-ids-after-a-leading-space", Case.dlq(event("x", ",\"prompt\":\"Once upon a time\",\"response\":\" there\","
                + "\"response_token_ids\":[383]"), "response_token_ids differ from the tokenizer's encoding at position 0 (logged 383, tokenizer 410):"
                + " the serving system used another tokenizer or template than model.dir's, or the response begins with a space"));
        cases.put("negative-timestamp", Case.dlq("{\"event_id\":\"x\",\"timestamp\":-5,\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}",
                "field 'timestamp' = -5 is before 1970-01-01"));
        cases.put("far-future-timestamp", Case.dlq("{\"event_id\":\"x\",\"timestamp\":" + (NOW + 86_400_000L * 30)
                + ",\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}", "is more than a day in the future"));
        cases.put("timestamp-not-a-time", Case.dlq("{\"event_id\":\"x\",\"timestamp\":\"yesterday\",\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}",
                "field 'timestamp' = 'yesterday' is not an ISO-8601 instant"));
        cases.put("timestamp-beyond-epoch-millis", Case.dlq("{\"event_id\":\"x\",\"timestamp\":\"+1000000000-01-01T00:00:00Z\",\"model\":\"m\","
                + "\"prompt\":\"p\",\"response\":\"r\"}", "field 'timestamp' = '+1000000000-01-01T00:00:00Z' is beyond what epoch milliseconds can hold"));
        cases.put("unknown-model", new Case(good("other").replace("stories260K", "gpt-x").getBytes(StandardCharsets.UTF_8), "skipped:other_model"));
        StringBuilder metadata = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            metadata.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        cases.put("oversized-metadata", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{" + metadata + "}"),
                "metadata has 100 entries, more than limits.metadata.entries = 64"));
        cases.put("metadata-not-string", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"n\":1}"),
                "metadata['n'] must be a string"));
        cases.put("duplicated-event-id", new Case(good("good-0").getBytes(StandardCharsets.UTF_8), "explained:again"));
        cases.put("tombstone", Case.dlq(null, "value is null (a tombstone)"));
        cases.put("empty-value", new Case(new byte[0], "dlq:value is empty"));
        cases.put("chat-roles-not-alternating", Case.dlq(event("x",
                ",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}],\"response\":\"r\""),
                "messages[1]: roles must alternate"));
        cases.put("unknown-chat-role", Case.dlq(event("x", ",\"messages\":[{\"role\":\"wizard\",\"content\":\"a\"}],\"response\":\"r\""),
                "messages[0].role = 'wizard' is not a chat role"));
        cases.put("response-over-token-limit", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"" + "the cat sat. ".repeat(200) + "\""),
                "tokens, more than limits.response.tokens = 256"));
        // Several problems: the reason names each field's, in the JSON's shape and then in its values (helper-76 F5).
        cases.put("several-problems-in-the-shape", Case.dlq("{\"event_id\":\"x\",\"timestamp\":\"noon\",\"prompt\":7,\"temperature\":0.7}",
                "5 problems: unknown field 'temperature', found number 0.7 (known: event_id, messages, metadata, model, prompt, prompt_token_ids,"
                        + " response, response_token_ids, segments, timestamp); field 'timestamp' = 'noon' is not an ISO-8601 instant such as"
                        + " 2026-11-30T12:00:00Z; field 'model' is missing; field 'prompt' must be a string, found number 7; field 'response' is missing"));
        // Both at once: the fields of the wrong shape, then the values of those that read (helper-78 named the shape's only).
        cases.put("several-problems-of-shape-and-value", Case.dlq("{\"event_id\":\"\",\"timestamp\":-5,\"model\":7,\"prompt\":\"p\",\"response\":\" \","
                + "\"metadata\":{\"n\":1}}", "5 problems: field 'model' must be a string, found number 7; metadata['n'] must be a string, found number 1;"
                        + " field 'event_id' is empty; field 'timestamp' = -5 is before 1970-01-01; field 'response' is empty: it holds only whitespace"
                        + " (1 character)"));
        cases.put("several-problems-in-the-values", Case.dlq("{\"event_id\":\"\",\"timestamp\":" + NOW + ",\"model\":\"stories260K\",\"prompt\":\"p\","
                + "\"response\":\" \",\"metadata\":{\"tenant\":\"a\\u0000b\"}}",
                "3 problems: field 'event_id' is empty; field 'response' is empty: it holds only whitespace (1 character);"
                        + " field 'metadata['tenant']' contains a NUL character at index 1"));
        cases.put("whitespace-only-prompt", Case.dlq(event("x", ",\"prompt\":\" \\n\\t \",\"response\":\"r\""), "field 'prompt' is empty"));
        cases.put("whitespace-only-response", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"   \""), "field 'response' is empty"));
        cases.put("whitespace-only-message", Case.dlq(event("x", ",\"messages\":[{\"role\":\"user\",\"content\":\" \"}],\"response\":\"r\""),
                "field 'messages[0].content' is empty"));
        // Lone surrogates: as JSON escapes, as their raw three-byte encoding, and inside Avro strings.
        cases.put("lone-surrogate-event-id", Case.dlq(event("surr-03\\ud800", ",\"prompt\":\"p\",\"response\":\"r\""),
                "field 'event_id' contains a lone surrogate U+D800 at index 7"));
        cases.put("lone-surrogate-model", Case.dlq(good("x").replace("stories260K", "stories\\udfff"),
                "field 'model' contains a lone surrogate U+DFFF at index 7"));
        cases.put("lone-surrogate-prompt", Case.dlq(event("x", ",\"prompt\":\"a dog \\ud83d\",\"response\":\"r\""),
                "field 'prompt' contains a lone surrogate U+D83D at index 6"));
        cases.put("lone-surrogate-response", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"\\udc36 ran\""),
                "field 'response' contains a lone surrogate U+DC36 at index 0"));
        cases.put("lone-surrogate-message", Case.dlq(event("x", ",\"messages\":[{\"role\":\"user\",\"content\":\"hi \\ud800\"}],\"response\":\"r\""),
                "field 'messages[0].content' contains a lone surrogate U+D800 at index 3"));
        cases.put("lone-surrogate-metadata-key", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"t\\ud800\":\"v\"}"),
                "field 'metadata key 't\\uD800'' contains a lone surrogate U+D800 at index 1"));
        cases.put("lone-surrogate-metadata-value", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"tenant\":\"\\ud800\"}"),
                "field 'metadata['tenant']' contains a lone surrogate U+D800 at index 0"));
        // Quoted in a reason, a lone surrogate is written as its escape: the UTF-8 header would carry '?' for it.
        cases.put("lone-surrogate-chat-role", Case.dlq(event("x", ",\"messages\":[{\"role\":\"user\\ud800\",\"content\":\"a\"}],\"response\":\"r\""),
                "messages[0].role = 'user\\uD800' is not a chat role"));
        byte[] rawSurrogateRole = event("x", ",\"messages\":[{\"role\":\"userXYZ\",\"content\":\"a\"}],\"response\":\"r\"").getBytes(StandardCharsets.UTF_8);
        replace(rawSurrogateRole, "XYZ", new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80});
        cases.put("lone-surrogate-raw-chat-role", new Case(rawSurrogateRole, "dlq:messages[0].role = 'user\\uD800' is not a chat role"));
        cases.put("lone-surrogate-unknown-field", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"t\\udfff\":1"),
                "unknown field 't\\uDFFF'"));
        byte[] rawSurrogate = event("x", ",\"prompt\":\"pXYZ\",\"response\":\"r\"").getBytes(StandardCharsets.UTF_8);
        replace(rawSurrogate, "XYZ", new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80});
        cases.put("lone-surrogate-raw-utf8-bytes", new Case(rawSurrogate, "dlq:field 'prompt' contains a lone surrogate U+D800 at index 1"));
        // The good Avro event's id "avro" becomes "a" + the encoding of U+D800, or "a", a bare lead byte and "ro".
        byte[] avroSurrogate = framedGood.clone();
        replace(avroSurrogate, "avro", new byte[] {'a', (byte) 0xED, (byte) 0xA0, (byte) 0x80});
        cases.put("avro-lone-surrogate", new Case(avroSurrogate, "dlq:field 'event_id' contains a lone surrogate U+D800 at index 1"));
        byte[] avroInvalidUtf8 = framedGood.clone();
        replace(avroInvalidUtf8, "avro", new byte[] {'a', (byte) 0xC3, 'r', 'o'});
        cases.put("avro-invalid-utf8", new Case(avroInvalidUtf8, "dlq:Avro value cannot be read: truncated or corrupt Avro payload"));
        return cases;
    }

    /** The UTF-8 of {@code json} with its first "X", "XY", "XYZ" or "XYZW" (as many letters as bytes given) overwritten by {@code bytes}. */
    private static byte[] withBytes(String json, byte... bytes) {
        byte[] value = json.getBytes(StandardCharsets.UTF_8);
        replace(value, "XYZW".substring(0, bytes.length), bytes);
        return value;
    }

    /** Overwrites the first occurrence of an ASCII marker with bytes of the same length. */
    private static void replace(byte[] value, String marker, byte[] with) {
        byte[] pattern = marker.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + pattern.length <= value.length; i++) {
            if (Arrays.equals(value, i, i + pattern.length, pattern, 0, pattern.length)) {
                System.arraycopy(with, 0, value, i, with.length);
                return;
            }
        }
        throw new IllegalArgumentException("marker " + marker + " not found");
    }
}
