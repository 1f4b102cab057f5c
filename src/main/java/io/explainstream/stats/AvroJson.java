package io.explainstream.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;

/**
 * Avro records of the statistics as plain JSON for people and dashboards: field names as in the
 * schema, timestamps as ISO-8601 text, infinite and NaN numbers as the strings "Infinity" and "NaN"
 * (JSON has no such numbers).
 */
public final class AvroJson {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private AvroJson() {}

    public static ObjectNode of(GenericRecord record) {
        ObjectNode node = NODES.objectNode();
        record.getSchema().getFields().forEach(field -> node.set(field.name(), value(record.get(field.pos()))));
        return node;
    }

    private static JsonNode value(Object value) {
        if (value == null) {
            return NODES.nullNode();
        }
        if (value instanceof GenericRecord record) {
            return of(record);
        }
        if (value instanceof Instant instant) {
            return NODES.textNode(instant.toString());
        }
        if (value instanceof Double number) {
            return Double.isFinite(number) ? NODES.numberNode(number) : NODES.textNode(number.toString());
        }
        if (value instanceof Number number) {
            return NODES.numberNode(number.longValue());
        }
        if (value instanceof Boolean bool) {
            return NODES.booleanNode(bool);
        }
        if (value instanceof Map<?, ?> map) {
            ObjectNode object = NODES.objectNode();
            map.forEach((k, v) -> object.set(k.toString(), value(v)));
            return object;
        }
        if (value instanceof Collection<?> items) {
            ArrayNode array = NODES.arrayNode();
            items.forEach(item -> array.add(value(item)));
            return array;
        }
        return NODES.textNode(value.toString());
    }
}
