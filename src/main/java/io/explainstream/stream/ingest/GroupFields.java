package io.explainstream.stream.ingest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * What a JSON record that could not be decoded still says of the fields an event is grouped by,
 * read leniently: the event counters label its dead letter by them, and the statistics window and
 * group it by them, so that both count it under the same model and metadata values.
 *
 * @param eventId null when missing or not a string
 * @param timestampMs null when missing or not a timestamp the input decoder reads
 * @param model null when missing or not a string
 * @param metadata null when the record has no metadata object; a value that is not a string is
 *     kept as its JSON text ({@code 42}, {@code {"a":1}}), so that such records group apart
 * @param whole whether the object was read to its end: where it was not (cut, or broken by a NaN),
 *     a field missing here may be in the part not read
 * @param modelGiven whether the object gave a model (not absent, not null), whatever its type: a
 *     missing model groups as none, one of another type as unknown
 */
public record GroupFields(String eventId, Long timestampMs, String model, Map<String, String> metadata, boolean whole, boolean modelGiven) {

    /** Has no limits beyond Jackson's defaults; the parser it makes reads values as trees. */
    private static final ObjectMapper LENIENT_JSON = new ObjectMapper();
    /** The top-level fields read; the rest are skipped. */
    private static final java.util.Set<String> READ = java.util.Set.of("event_id", "timestamp", "model", "metadata");

    /**
     * The group fields of a JSON object, whatever else is wrong with it (text after it, say), as far
     * as it reads: a record cut (a dead letter over record.max.bytes) or broken (a NaN) after some
     * fields still gives those, and {@code whole} says whether a field not given was read past or
     * not reached. Null when the value is not a JSON object. A field given twice is read as its first
     * value, as {@link #eventId} reads the event id.
     */
    public static GroupFields readLeniently(byte[] value) {
        Read read = read(value);
        if (read == null || !read.opened() || !read.whole() && read.fields().isEmpty()) {
            return null; // not JSON, not an object, or broken before any field: nothing can be said of its group
        }
        Map<String, JsonNode> fields = read.fields();
        JsonNode model = fields.get("model");
        return new GroupFields(text(fields.get("event_id")), timestamp(fields.get("timestamp")), text(model), metadata(fields.get("metadata")),
                read.whole(), model != null && !model.isNull());
    }

    /** An event's group fields as its decoded (Avro) original gives them: whole. */
    public static GroupFields of(String eventId, Long timestampMs, String model, Map<String, String> metadata) {
        return new GroupFields(eventId, timestampMs, model, metadata, true, model != null);
    }

    /**
     * The event id a record that could not be decoded names: the first value of its top-level
     * event_id when that is a string, read up to where the JSON breaks, so that a record broken
     * after it (a NaN, a cut) still names its event; null when it has none. The statistics, the
     * event counters and diff read a dead letter's event id this one way (the statistics named the
     * last of two event_id values where diff named the first, and a record broken after its id by
     * the key where diff named the id).
     */
    public static String eventId(byte[] value) {
        Read read = read(value);
        return read == null ? null : text(read.fields().get("event_id"));
    }

    /**
     * The top-level fields of {@link #READ} a JSON object gives, each its first value, as far as
     * it reads; null when the value is not a JSON object.
     *
     * @param opened whether the value began a JSON object
     * @param whole whether the object read to its end
     */
    private record Read(Map<String, JsonNode> fields, boolean opened, boolean whole) {}

    private static Read read(byte[] value) {
        if (value == null || value.length == 0) {
            return null;
        }
        Map<String, JsonNode> fields = new HashMap<>();
        boolean opened = false;
        try (JsonParser parser = LENIENT_JSON.createParser(value)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            opened = true;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                parser.nextToken();
                if (READ.contains(name) && !fields.containsKey(name)) {
                    fields.put(name, name.equals("metadata") && parser.currentToken() == JsonToken.START_OBJECT ? firstValues(parser)
                            : parser.readValueAsTree());
                } else {
                    parser.skipChildren();
                }
            }
            return new Read(fields, true, true);
        } catch (IOException | RuntimeException e) {
            // Broken after the fields read so far, or before the object began (then none, and not opened).
            return new Read(fields, opened, false);
        }
    }

    /** An object read field by field, a key given twice as its first value; the parser is at its start. */
    private static ObjectNode firstValues(JsonParser parser) throws IOException {
        ObjectNode object = LENIENT_JSON.createObjectNode();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            parser.nextToken();
            JsonNode node = parser.readValueAsTree();
            if (!object.has(name)) {
                object.set(name, node);
            }
        }
        return object;
    }

    /** The metadata, or the empty map where there is none: the counters label a missing key as none. */
    public Map<String, String> metadataOrEmpty() {
        return metadata == null ? Map.of() : metadata;
    }

    private static Map<String, String> metadata(JsonNode object) {
        if (object == null || !object.isObject()) {
            return null;
        }
        Map<String, String> metadata = new HashMap<>();
        object.fields().forEachRemaining(field ->
                metadata.put(field.getKey(), field.getValue().isTextual() ? field.getValue().asText() : field.getValue().toString()));
        return Map.copyOf(metadata);
    }

    private static String text(JsonNode node) {
        return node != null && node.isTextual() ? node.asText() : null;
    }

    /** The timestamp as the input decoder reads it (epoch milliseconds or ISO-8601), or null when it is not one. */
    private static Long timestamp(JsonNode node) {
        if (node == null) {
            return null;
        }
        try {
            return InputDecoder.timestamp(node);
        } catch (InvalidEventException e) {
            return null;
        }
    }
}
