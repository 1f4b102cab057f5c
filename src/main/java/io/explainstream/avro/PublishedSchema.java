package io.explainstream.avro;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * A schema as the contract publishes it. avro-maven-plugin adds {@code "avro.java.string":
 * "String"} to every string of a generated class's schema, a hint for Java code generation that
 * {@code schemas/*.avsc} lacks: registered or looked up as it is, the class schema is another text
 * than the published file, so a subject registered from the file would never be found.
 */
public final class PublishedSchema {

    /** The property the Java code generator adds; it is no part of the contract. */
    static final String JAVA_STRING_PROPERTY = "avro.java.string";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PublishedSchema() {}

    /** The schema without the Java code generator's properties: the published contract's text. */
    public static Schema of(Schema schema) {
        if (!schema.toString().contains(JAVA_STRING_PROPERTY)) {
            return schema;
        }
        try {
            JsonNode tree = JSON.readTree(schema.toString());
            return new Schema.Parser().parse(strip(tree).toString());
        } catch (IOException e) {
            throw new UncheckedIOException("Avro wrote a schema that is not JSON", e);
        }
    }

    private static JsonNode strip(JsonNode node) {
        if (node.isObject()) {
            ObjectNode object = (ObjectNode) node;
            object.remove(JAVA_STRING_PROPERTY);
            object.properties().forEach(entry -> strip(entry.getValue()));
        } else if (node.isArray()) {
            node.forEach(PublishedSchema::strip);
        }
        return node;
    }

    /**
     * Whether two schemas are the same contract for the bytes they describe: equal Parsing
     * Canonical Forms (Avro's specification), which ignore docs, properties, defaults and formatting,
     * as registries do when asked to normalize. Bytes written with one read exactly with the other.
     */
    public static boolean sameCanonicalForm(Schema a, Schema b) {
        return SchemaNormalization.toParsingForm(a).equals(SchemaNormalization.toParsingForm(b));
    }
}
