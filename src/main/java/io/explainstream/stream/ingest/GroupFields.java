package io.explainstream.stream.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 */
public record GroupFields(String eventId, Long timestampMs, String model, Map<String, String> metadata) {

    /** Reads a field given twice as its last value, and has no limits beyond Jackson's defaults. */
    private static final ObjectMapper LENIENT_JSON = new ObjectMapper();

    /** The group fields of a JSON object, whatever else is wrong with it; null when the value is not a JSON object. */
    public static GroupFields readLeniently(byte[] value) {
        if (value == null || value.length == 0) {
            return null;
        }
        try {
            JsonNode event = LENIENT_JSON.readTree(value);
            if (event == null || !event.isObject()) {
                return null;
            }
            return new GroupFields(text(event, "event_id"), timestamp(event.get("timestamp")), text(event, "model"), metadata(event));
        } catch (IOException | RuntimeException e) {
            return null; // not JSON, or past the reader's limits: nothing can be said of its group
        }
    }

    /** The metadata, or the empty map where there is none: the counters label a missing key as none. */
    public Map<String, String> metadataOrEmpty() {
        return metadata == null ? Map.of() : metadata;
    }

    private static Map<String, String> metadata(JsonNode event) {
        if (!event.path("metadata").isObject()) {
            return null;
        }
        Map<String, String> metadata = new HashMap<>();
        event.get("metadata").fields().forEachRemaining(field ->
                metadata.put(field.getKey(), field.getValue().isTextual() ? field.getValue().asText() : field.getValue().toString()));
        return Map.copyOf(metadata);
    }

    private static String text(JsonNode event, String field) {
        JsonNode node = event.get(field);
        return node != null && node.isTextual() ? node.asText() : null;
    }

    /** The timestamp as the input decoder reads it (epoch milliseconds or ISO-8601), or null when it is not one. */
    private static Long timestamp(JsonNode node) {
        try {
            return InputDecoder.timestamp(node);
        } catch (InvalidEventException e) {
            return null;
        }
    }
}
