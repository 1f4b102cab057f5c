package io.explainstream.stats;

import io.explainstream.schema.Explanation;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.ingest.GroupFields;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;

/**
 * The fields that make a statistics group: top-level scalar fields of {@code Explanation}
 * ({@code source_model}, {@code model_id}, {@code method}, ...) or {@code metadata.<key>}.
 *
 * @param fields in the order of {@code stats.group.by}
 */
public record GroupBy(List<String> fields) {

    public static final String METADATA_PREFIX = "metadata.";
    /** The value of a field the event lacks (a metadata key it does not carry, a null field). */
    public static final String NONE = "none";
    /**
     * The value of a field a dead letter cannot tell: its original did not decode, or it is not an
     * input field. A field the original could carry but lacks (a metadata key, the whole metadata
     * object) is {@link #NONE}, as for an explanation.
     */
    public static final String UNKNOWN = "unknown";
    /** Every value of the overflow group: the events of groups past stats.max.groups in a window. */
    public static final String OVERFLOW = "_other";

    /** Explanation fields with a value per event: its id, and its timestamps in milliseconds. */
    private static final Set<String> PER_EVENT_FIELDS = Set.of("event_id", "event_time", "processing_time");
    /**
     * Metadata keys that name an event, a request or a user, as serving systems and tracing
     * spell them, compared in lower case without '_', '-' and '.' (user_id, userId, User-ID).
     */
    private static final Set<String> PER_EVENT_METADATA_KEYS = Set.of("id", "uuid", "eventid", "requestid", "traceid", "spanid", "correlationid",
            "messageid", "conversationid", "sessionid", "user", "userid", "username", "email");

    private static final Set<Schema.Type> SCALARS = Set.of(Schema.Type.STRING, Schema.Type.ENUM, Schema.Type.INT, Schema.Type.LONG,
            Schema.Type.BOOLEAN);

    public GroupBy {
        fields = List.copyOf(fields);
    }

    /** Parses a comma-separated list, checking each field against the Explanation schema. */
    public static GroupBy parse(String key, String text) {
        List<String> fields = Arrays.stream(text.split(",")).map(String::trim).filter(f -> !f.isEmpty()).toList();
        if (fields.isEmpty()) {
            throw new ConfigException(key + " = '" + text + "' names no field (give explanation fields or metadata.<key>, comma-separated)");
        }
        for (String field : fields) {
            if (field.startsWith(METADATA_PREFIX)) {
                if (field.length() == METADATA_PREFIX.length()) {
                    throw new ConfigException(key + " = '" + text + "': 'metadata.' needs a key, as in metadata.application");
                }
                continue;
            }
            Schema.Field schemaField = Explanation.getClassSchema().getField(field);
            if (schemaField == null || !isScalar(schemaField.schema())) {
                throw new ConfigException(key + " = '" + text + "': '" + field + "' is not a scalar field of Explanation (one of "
                        + scalarFields() + ") nor metadata.<key>");
            }
        }
        if (fields.stream().distinct().count() != fields.size()) {
            throw new ConfigException(key + " = '" + text + "' names a field twice");
        }
        return new GroupBy(fields);
    }

    private static boolean isScalar(Schema schema) {
        if (schema.getType() == Schema.Type.UNION) {
            return schema.getTypes().stream().allMatch(s -> s.getType() == Schema.Type.NULL || SCALARS.contains(s.getType()));
        }
        return SCALARS.contains(schema.getType());
    }

    private static List<String> scalarFields() {
        return Explanation.getClassSchema().getFields().stream().filter(f -> isScalar(f.schema())).map(Schema.Field::name).toList();
    }

    /**
     * The fields with a value per event or per user: grouping by one makes a group per event, and
     * every window holds up to stats.max.groups of them (docs/auditing.md).
     */
    public List<String> perEventFields() {
        return fields.stream().filter(GroupBy::isPerEvent).toList();
    }

    private static boolean isPerEvent(String field) {
        if (!field.startsWith(METADATA_PREFIX)) {
            return PER_EVENT_FIELDS.contains(field);
        }
        String key = field.substring(METADATA_PREFIX.length()).toLowerCase(Locale.ROOT).replaceAll("[_.-]", "");
        return PER_EVENT_METADATA_KEYS.contains(key);
    }

    /** The group of an explanation. */
    public GroupKey of(Explanation explanation) {
        List<String> values = new ArrayList<>(fields.size());
        for (String field : fields) {
            Object value = field.startsWith(METADATA_PREFIX)
                    ? explanation.getMetadata().get(field.substring(METADATA_PREFIX.length()))
                    : explanation.get(field);
            values.add(value == null ? NONE : value instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : value.toString());
        }
        return new GroupKey(fields, values);
    }

    /**
     * The group of a dead letter whose original decoded, or of a skipped event: its model stands for source_model, its
     * metadata for metadata.<key>, its event id for event_id; other fields are not known yet.
     */
    public GroupKey ofInput(String eventId, String model, Map<String, String> metadata) {
        return of(eventId, model, metadata, NONE);
    }

    /**
     * The group of a dead letter's original: a model it does not give (absent or null) is
     * {@link #NONE}, as a metadata key it lacks, and one it gives as another type {@link #UNKNOWN};
     * of an original cut or broken before the end, a field not reached is {@link #UNKNOWN} (it may
     * have been there), while the fields read before the cut count.
     */
    public GroupKey ofOriginal(String eventId, GroupFields original) {
        String model = original.model() != null ? original.model() : original.whole() && !original.modelGiven() ? NONE : UNKNOWN;
        return of(eventId, model, original.metadata(), original.whole() || original.metadata() != null ? NONE : UNKNOWN);
    }

    /** @param noMetadata the value of a metadata field where there is no metadata object */
    private GroupKey of(String eventId, String model, Map<String, String> metadata, String noMetadata) {
        List<String> values = new ArrayList<>(fields.size());
        for (String field : fields) {
            String value;
            if (field.startsWith(METADATA_PREFIX)) {
                // No metadata object is the same absence as an empty one, and as an explanation without metadata: none.
                value = metadata == null ? noMetadata : metadata.getOrDefault(field.substring(METADATA_PREFIX.length()), NONE);
            } else if (field.equals("source_model")) {
                value = model;
            } else if (field.equals("event_id")) {
                value = eventId;
            } else {
                value = null;
            }
            values.add(value == null ? UNKNOWN : value);
        }
        return new GroupKey(fields, values);
    }

    /** The group the events of a full window's further groups count in (stats.max.groups): every field {@link #OVERFLOW}. */
    public GroupKey overflow() {
        return new GroupKey(fields, fields.stream().map(f -> OVERFLOW).toList());
    }

    /** The group of a dead letter whose original could not be decoded. */
    public GroupKey unknown() {
        return new GroupKey(fields, fields.stream().map(f -> UNKNOWN).toList());
    }
}
