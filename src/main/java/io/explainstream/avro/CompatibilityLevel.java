package io.explainstream.avro;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/** Which new versions a subject accepts, checked against its latest version (non-transitive). */
public enum CompatibilityLevel {
    NONE,
    /** Readers on the new schema can read data written with the latest one. The default. */
    BACKWARD,
    /** Readers on the latest schema can read data written with the new one. */
    FORWARD,
    /** Both. */
    FULL;

    /** The reasons the candidate is refused; empty when it is accepted. */
    public List<String> violations(Schema candidate, Schema latest) {
        List<String> reasons = new ArrayList<>();
        if (this == BACKWARD || this == FULL) {
            reasons.addAll(problems(candidate, latest, "new schema cannot read data written with the latest: "));
        }
        if (this == FORWARD || this == FULL) {
            reasons.addAll(problems(latest, candidate, "latest schema cannot read data written with the new: "));
        }
        return reasons;
    }

    private static List<String> problems(Schema reader, Schema writer, String prefix) {
        List<String> reasons = new ArrayList<>();
        SchemaCompatibility.SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        for (SchemaCompatibility.Incompatibility incompatibility : result.getResult().getIncompatibilities()) {
            reasons.add(prefix + incompatibility.getType() + " at field " + fieldPath(reader, incompatibility.getLocation()) + " ("
                    + incompatibility.getLocation() + "): " + incompatibility.getMessage());
        }
        return reasons;
    }

    /** Turns Avro's JSON-pointer location ("/fields/3/type/items/fields/1") into field names ("prompt_tokens[].text"). */
    static String fieldPath(Schema schema, String location) {
        StringBuilder path = new StringBuilder();
        Schema current = schema;
        String[] segments = location.split("/");
        for (int i = 0; i < segments.length && current != null; i++) {
            switch (segments[i]) {
                case "fields":
                    if (i + 1 < segments.length && current.getType() == Schema.Type.RECORD) {
                        int index = Integer.parseInt(segments[++i]);
                        if (index >= current.getFields().size()) {
                            return path.length() == 0 ? location : path.toString();
                        }
                        Schema.Field field = current.getFields().get(index);
                        path.append(path.length() == 0 ? "" : ".").append(field.name());
                        current = field.schema();
                    }
                    break;
                case "items":
                    path.append("[]");
                    current = current.getType() == Schema.Type.ARRAY ? current.getElementType() : current;
                    break;
                case "values":
                    path.append("{}");
                    current = current.getType() == Schema.Type.MAP ? current.getValueType() : current;
                    break;
                default:
                    if (segments[i].matches("\\d+") && current.getType() == Schema.Type.UNION) {
                        current = current.getTypes().get(Integer.parseInt(segments[i]));
                    }
                    break;
            }
        }
        return path.length() == 0 ? "(root)" : path.toString();
    }

    public static CompatibilityLevel parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("compatibility level '" + value + "' is not one of NONE, BACKWARD, FORWARD, FULL");
        }
    }
}
