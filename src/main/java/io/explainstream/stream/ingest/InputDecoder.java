package io.explainstream.stream.ingest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.attribution.summary.SpanRequest;
import io.explainstream.avro.RegistryException;
import io.explainstream.avro.Utf8Text;
import io.explainstream.avro.WireFormat;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.NamedSpan;
import io.explainstream.text.Shortened;
import io.explainstream.tokenize.ChatTurn;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Turns an input record value into an {@link InputEvent}: JSON of the documented shape, or
 * Confluent-framed Avro of {@code LlmInteraction}, told apart per record (byte 0 starts Avro) or
 * fixed by configuration. Structural problems are {@link InvalidEventException}s that name the
 * field.
 */
public final class InputDecoder {

    static final Set<String> JSON_FIELDS = Set.of("event_id", "timestamp", "model", "prompt", "messages", "response", "prompt_token_ids",
            "response_token_ids", "metadata", "segments");
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final InputFormat format;
    private final Deserializer<LlmInteraction> avro;

    public InputDecoder(InputFormat format, Deserializer<LlmInteraction> avro) {
        this.format = format;
        this.avro = avro;
    }

    /**
     * What a record's value reads as: an event whose fields read, and each field's problem. Where
     * some field's shape is wrong (missing, mistyped, unknown) the event holds the others, null (0
     * for the timestamp) where the field failed, and {@code problems} names those fields; the
     * validator then adds the problems of the values that did read, so that the reason names both
     * at once. Problems of the value as a whole (not JSON, not UTF-8, unreadable Avro) are thrown.
     */
    record Decoded(InputEvent event, FieldProblems problems) {}

    /** The event, or an {@link InvalidEventException} naming every field whose shape is wrong. */
    public InputEvent decode(String topic, byte[] value) {
        Decoded decoded = read(topic, value);
        decoded.problems().throwIfAny();
        return decoded.event();
    }

    Decoded read(String topic, byte[] value) {
        if (value == null) {
            throw new InvalidEventException("value is null (a tombstone): there is no event to explain");
        }
        if (value.length == 0) {
            throw new InvalidEventException("value is empty");
        }
        boolean framed = value[0] == WireFormat.MAGIC_BYTE;
        if (format == InputFormat.AVRO || (format == InputFormat.AUTO && framed)) {
            return new Decoded(fromAvro(topic, value), new FieldProblems());
        }
        int first = value[0] & 0xff;
        if (first < 0x20 && first != '\t' && first != '\n' && first != '\r') {
            throw new InvalidEventException(String.format("value starts with byte 0x%02x: neither JSON nor Confluent-framed Avro"
                    + " (which starts with the magic byte 0x00)", first));
        }
        return fromJson(value);
    }

    private InputEvent fromAvro(String topic, byte[] value) {
        LlmInteraction interaction;
        try {
            interaction = avro.deserialize(topic, value);
        } catch (RegistryException e) {
            throw e; // the registry is unavailable: the event may be fine, so it is not rejected
        } catch (RuntimeException e) {
            throw new InvalidEventException("Avro value cannot be read: " + e.getMessage(), e);
        }
        List<ChatTurn> messages = null;
        if (interaction.getMessages() != null) {
            messages = new ArrayList<>();
            for (int i = 0; i < interaction.getMessages().size(); i++) {
                var message = interaction.getMessages().get(i);
                messages.add(new ChatTurn(role("messages[" + i + "].role", message.getRole()), message.getContent()));
            }
        }
        return new InputEvent(interaction.getEventId(), interaction.getTimestamp().toEpochMilli(), interaction.getModel(), interaction.getPrompt(),
                messages, interaction.getResponse(), interaction.getPromptTokenIds(), interaction.getResponseTokenIds(),
                interaction.getMetadata() == null ? Map.of() : Map.copyOf(interaction.getMetadata()), spans(interaction.getSegments()));
    }

    /**
     * Jackson reads a value that starts like UTF-16 or UTF-32 (a byte order mark 0xfe 0xff or
     * 0xff 0xfe, or a zero byte among the first four) in that encoding, and its errors then quote
     * characters the producer never wrote. Events are UTF-8, and 0xfe, 0xff and a raw zero byte
     * never occur in UTF-8 JSON: such a value is refused for what it is.
     */
    private static void requireUtf8Start(byte[] value) {
        for (int i = 0; i < Math.min(4, value.length); i++) {
            int b = value[i] & 0xff;
            if (b == 0x00 || b == 0xfe || b == 0xff) {
                throw new InvalidEventException(String.format("value is not UTF-8: byte %d is 0x%02x, as in UTF-16 or UTF-32 text (events are UTF-8 JSON)",
                        i, b));
            }
        }
    }

    /**
     * Refuses a value with a byte sequence that is not UTF-8, naming the field whose text holds it:
     * Jackson reads an overlong form (C0 AF) as the character it spells ('/'), so the service would
     * explain, and key by, text the producer never logged.
     */
    private static void requireUtf8(byte[] value) {
        Utf8Text.firstInvalid(value).ifPresent(invalid -> {
            int at = invalid[0];
            int end = at + Math.max(1, invalid[1]);
            while (end < value.length && end - at < 4 && (value[end] & 0xc0) == 0x80) {
                end++; // the continuation bytes that belong to the bad sequence
            }
            StringBuilder bytes = new StringBuilder();
            for (int i = at; i < end; i++) {
                bytes.append(bytes.length() == 0 ? "" : " ").append(String.format("%02x", value[i] & 0xff));
            }
            boolean one = end - at == 1;
            throw new InvalidEventException(holder(value, at) + " is not valid UTF-8: the byte" + (one ? " " : "s ") + bytes + " at byte " + at
                    + " of the value " + (one ? "is" : "are") + " no UTF-8 character (an overlong form, a code point past U+10FFFF, or a cut-off sequence)");
        });
    }

    /**
     * What holds byte {@code offset} of a JSON value: {@code field 'prompt'}, {@code field
     * 'messages[1].content'}, {@code a key of field 'metadata'}, or {@code the value} when no string
     * of the parsed text holds it (or the text cannot be parsed that far).
     */
    private static String holder(byte[] value, long offset) {
        try (JsonParser parser = JSON.getFactory().createParser(value)) {
            JsonToken last = null;
            try {
                for (JsonToken token = parser.nextToken(); token != null; last = token, token = parser.nextToken()) {
                    if (token != JsonToken.FIELD_NAME && token != JsonToken.VALUE_STRING) {
                        continue;
                    }
                    long start = parser.currentTokenLocation().getByteOffset();
                    parser.getText(); // reads the whole string, so that the location is past it
                    if (offset >= start && offset < parser.currentLocation().getByteOffset()) {
                        return token == JsonToken.FIELD_NAME ? keyOf(parser.getParsingContext()) : "field '" + path(parser.getParsingContext()) + "'";
                    }
                }
            } catch (IOException e) {
                // Jackson stops at bytes it cannot decode (a cut-off sequence, a stray continuation
                // byte): then what it was reading when it stopped there holds them, if they are
                // inside a string (between quotes, not where a value or a key should start).
                if (parser.currentLocation().getByteOffset() >= offset && insideString(value, (int) offset)) {
                    JsonStreamContext context = parser.getParsingContext();
                    if (last == JsonToken.FIELD_NAME) {
                        return "field '" + path(context) + "'";
                    }
                    if (context.inObject()) {
                        return keyOf(context);
                    }
                }
            }
        } catch (IOException e) {
            // not even the start could be read
        }
        return "the value";
    }

    /** Whether byte {@code offset} of a JSON text lies between the quotes of a string, reading the text up to it. */
    private static boolean insideString(byte[] value, int offset) {
        boolean inside = false;
        for (int i = 0; i < offset && i < value.length; i++) {
            if (inside && value[i] == '\\') {
                i++; // the escaped byte
            } else if (value[i] == '"') {
                inside = !inside;
            }
        }
        return inside;
    }

    /** What a key of the object of {@code context} is called: a field name at the top, else a key of its field. */
    private static String keyOf(JsonStreamContext context) {
        String parent = path(context.getParent());
        return parent.isEmpty() ? "a field name" : "a key of field '" + parent + "'";
    }

    /**
     * " in segments[0]": the object or list the reader was in when it failed, where that is inside
     * the event (a field given twice in a span said only "Duplicate field 'name'").
     */
    private static String where(JsonProcessingException e) {
        if (e instanceof com.fasterxml.jackson.core.exc.StreamReadException read && read.getProcessor() != null
                && read.getProcessor().getParsingContext() != null) {
            JsonStreamContext context = read.getProcessor().getParsingContext();
            // A field given twice is named by the message: the object that holds it is said. Anything
            // else is said by the field it broke in or after (NaN, a bare word, a missing comma): "in timestamp".
            boolean inAValue = context.inObject() && context.getCurrentName() != null && !String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field");
            String path = path(context.inObject() && !inAValue ? context.getParent() : context);
            return path.isEmpty() ? "" : " in " + path;
        }
        return "";
    }

    /**
     * The JSON reader's message without its advice to the programmer ("enable
     * `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"), which names a setting inside the service, not
     * something the producer can do.
     */
    private static String withoutReaderAdvice(String message) {
        return message == null ? "" : message.replaceAll(":? ?\\(?(?:enable|Enable) `?\\w*(?:Feature)?\\.\\w+`? to allow\\)?", "");
    }

    /** {@code messages[1].content}: the path of a parsing context from the root object. */
    private static String path(JsonStreamContext context) {
        StringBuilder path = new StringBuilder();
        for (JsonStreamContext at = context; at != null && !at.inRoot(); at = at.getParent()) {
            if (at.inArray()) {
                path.insert(0, "[" + at.getCurrentIndex() + "]");
            } else if (at.getCurrentName() != null) {
                JsonStreamContext parent = at.getParent();
                boolean topLevel = parent == null || parent.inRoot();
                // metadata['tenant'], as the event validator names a metadata value
                boolean metadata = !topLevel && parent.inObject() && "metadata".equals(parent.getCurrentName()) && parent.getParent() != null
                        && parent.getParent().inRoot();
                path.insert(0, topLevel ? at.getCurrentName() : metadata ? "['" + at.getCurrentName() + "']" : "." + at.getCurrentName());
            }
        }
        return path.toString();
    }

    private static Decoded fromJson(byte[] value) {
        requireUtf8Start(value);
        requireUtf8(value);
        JsonNode root;
        try {
            root = JSON.readTree(value);
        } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
            // Valid JSON can be past the reader's limits: said as such, not as "not valid JSON".
            throw new InvalidEventException("value is past a limit of the JSON reader (names up to 50000 characters, numbers up to 1000 digits,"
                    + " nesting up to 1000 levels): " + e.getOriginalMessage(), e);
        } catch (JsonProcessingException e) {
            throw new InvalidEventException("value is not valid JSON (or not UTF-8)" + where(e) + ": " + withoutReaderAdvice(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new InvalidEventException("value is not valid JSON (or not UTF-8): " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidEventException("value must be a JSON object, found " + (root == null ? "nothing" : root.getNodeType().name().toLowerCase()));
        }
        // Every field is read, and each one's first problem kept: the reason names them all.
        FieldProblems problems = new FieldProblems();
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!JSON_FIELDS.contains(name)) {
                problems.add(new InvalidEventException("unknown field '" + name + "', found " + describe(root.get(name)) + " (known: "
                        + String.join(", ", JSON_FIELDS.stream().sorted().toList()) + ")"));
            }
        }
        String eventId = problems.read("event_id", () -> requiredText(root, "event_id"));
        Long timestamp = problems.read("timestamp", () -> timestamp(root.get("timestamp")));
        String model = problems.read("model", () -> requiredText(root, "model"));
        String prompt = problems.read("prompt", () -> optionalText(root, "prompt"));
        List<ChatTurn> messages = problems.read("messages", () -> messages(root.get("messages")));
        String response = problems.read("response", () -> requiredText(root, "response"));
        List<Long> promptIds = problems.read("prompt_token_ids", () -> ids(root, "prompt_token_ids"));
        List<Long> responseIds = problems.read("response_token_ids", () -> ids(root, "response_token_ids"));
        Map<String, String> metadata = problems.read("metadata", () -> metadata(root.get("metadata")));
        List<SpanRequest> segments = problems.read("segments", () -> segments(root.get("segments")));
        return new Decoded(new InputEvent(eventId, timestamp == null ? 0 : timestamp, model, prompt, messages, response, promptIds, responseIds,
                metadata, segments), problems);
    }

    private static List<SpanRequest> spans(List<NamedSpan> segments) {
        if (segments == null) {
            return List.of();
        }
        List<SpanRequest> spans = new ArrayList<>();
        for (NamedSpan span : segments) {
            spans.add(new SpanRequest(span.getName(), span.getMessage(), span.getStart(), span.getEnd()));
        }
        return spans;
    }

    /**
     * The JSON form of the {@code segments} field: {@code [{"name", "message" (optional), "start", "end"}]}.
     * The attribute command reads its {@code --chat} file's segments with it too.
     */
    public static List<SpanRequest> segments(JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new InvalidEventException("field 'segments' must be a list of {name, message, start, end}, found " + describe(node));
        }
        List<SpanRequest> spans = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode span = node.get(i);
            String field = "segments[" + i + "]";
            if (!span.isObject()) {
                throw new InvalidEventException(field + " must be an object {name, message, start, end}, found " + describe(span));
            }
            for (Iterator<String> names = span.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!Set.of("name", "message", "start", "end").contains(name)) {
                    throw new InvalidEventException(field + " has an unknown field '" + name + "' (known: end, message, name, start)");
                }
            }
            JsonNode name = span.get("name");
            if (name == null || !name.isTextual()) {
                throw new InvalidEventException(field + ".name must be a string, found " + (name == null ? "nothing" : describe(name)));
            }
            JsonNode message = span.get("message");
            Integer messageIndex = message == null || message.isNull() ? null : spanInt(field + ".message", message, "message indexes");
            spans.add(new SpanRequest(name.asText(), messageIndex, spanInt(field + ".start", span.get("start"), "offsets"),
                    spanInt(field + ".end", span.get("end"), "offsets")));
        }
        return spans;
    }

    /**
     * A span's integer field. The value is quoted as the JSON reader holds it (4e0 reads 4.0), so the
     * reason says how an integer is written.
     *
     * @param what what the field's values are, for the reason ("offsets", "message indexes")
     */
    private static int spanInt(String field, JsonNode node, String what) {
        if (node == null) {
            throw new InvalidEventException(field + " is missing");
        }
        if (node.isNumber() && !node.isIntegralNumber()) {
            throw new InvalidEventException(field + " = " + node + " is not an integer: " + what + " are written without a fraction or an exponent");
        }
        if (!node.isIntegralNumber()) {
            throw new InvalidEventException(field + " must be an integer, found " + describe(node));
        }
        if (!node.canConvertToInt()) {
            throw new InvalidEventException(field + " = " + node + " is out of range: " + what + " are at most " + Integer.MAX_VALUE);
        }
        return node.asInt();
    }

    /** A required string field: absent is "missing", null is said as found (a producer that sent null is told so). */
    private static String requiredText(JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null) {
            throw new InvalidEventException("field '" + field + "' is missing");
        }
        if (!node.isTextual()) {
            throw new InvalidEventException("field '" + field + "' must be a string, found " + describe(node));
        }
        return node.asText();
    }

    private static String optionalText(JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new InvalidEventException("field '" + field + "' must be a string, found " + describe(node));
        }
        return node.asText();
    }

    /**
     * The JSON field {@code timestamp} in epoch milliseconds: a whole number, or an ISO-8601 string.
     * Also what the statistics read from a dead letter's original, so that both agree on its time.
     */
    public static long timestamp(JsonNode node) {
        if (node == null) {
            throw new InvalidEventException("field 'timestamp' is missing");
        }
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return node.asLong();
        }
        if (node.isNumber() && !node.isIntegralNumber()) {
            // Quoted as the JSON reader holds it (1796424943737e0 reads 1.796424943737E12), so the reason says how to write it.
            throw new InvalidEventException("field 'timestamp' = " + node + " is not a whole number: milliseconds are written without a fraction or an"
                    + " exponent");
        }
        if (node.isTextual()) {
            try {
                return Instant.parse(node.asText()).toEpochMilli();
            } catch (DateTimeParseException e) {
                throw new InvalidEventException("field 'timestamp' = '" + node.asText() + "' is not an ISO-8601 instant such as 2026-11-30T12:00:00Z");
            } catch (ArithmeticException e) {
                throw new InvalidEventException("field 'timestamp' = '" + node.asText() + "' is beyond what epoch milliseconds can hold");
            }
        }
        throw new InvalidEventException("field 'timestamp' must be milliseconds since the epoch or an ISO-8601 string, found " + describe(node));
    }

    private static List<ChatTurn> messages(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw new InvalidEventException("field 'messages' must be a list of {role, content}, found " + describe(node));
        }
        List<ChatTurn> messages = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode message = node.get(i);
            if (!message.isObject()) {
                throw new InvalidEventException("messages[" + i + "] must be an object {role, content}, found " + describe(message));
            }
            for (Iterator<String> names = message.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!Set.of("role", "content").contains(name)) {
                    // As everywhere in an event: a field the service would drop (an OpenAI-style 'name') is named, not ignored.
                    throw new InvalidEventException("messages[" + i + "] has an unknown field '" + name + "' (known: content, role)");
                }
            }
            for (String part : List.of("role", "content")) {
                JsonNode value = message.get(part);
                if (value == null) {
                    throw new InvalidEventException("messages[" + i + "]." + part + " is missing");
                }
                if (!value.isTextual()) {
                    throw new InvalidEventException("messages[" + i + "]." + part + " must be a string, found " + describe(value));
                }
            }
            messages.add(new ChatTurn(role("messages[" + i + "].role", message.get("role").asText()), message.get("content").asText()));
        }
        return messages;
    }

    private static ChatTurn.Role role(String field, String value) {
        try {
            return ChatTurn.Role.parse(field, value);
        } catch (IllegalArgumentException e) {
            throw new InvalidEventException(e.getMessage(), e);
        }
    }

    private static List<Long> ids(JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw new InvalidEventException("field '" + field + "' must be a list of integers, found " + describe(node));
        }
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            if (!node.get(i).isIntegralNumber() || !node.get(i).canConvertToLong()) {
                throw new InvalidEventException(field + "[" + i + "] = " + node.get(i) + " is not an integer token id");
            }
            ids.add(node.get(i).asLong());
        }
        return ids;
    }

    private static Map<String, String> metadata(JsonNode node) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new InvalidEventException("field 'metadata' must be an object of strings, found " + describe(node));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = fields.next();
            if (!entry.getValue().isTextual()) {
                throw new InvalidEventException("metadata['" + entry.getKey() + "'] must be a string, found " + describe(entry.getValue()));
            }
            metadata.put(entry.getKey(), entry.getValue().asText());
        }
        return metadata;
    }

    /** A JSON value for a reason: its type and the start of its text ({@code null} alone: "found null null" said it twice). */
    public static String describe(JsonNode node) {
        if (node.isNull()) {
            return "null";
        }
        String text = node.toString();
        return node.getNodeType().name().toLowerCase() + " " + Shortened.cut(text, 40);
    }
}
