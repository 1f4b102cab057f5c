package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/** The statistics' schemas follow schemas/README.md: built from the schemas folder, every field documented. */
class StatsSchemasTest {

    @Test
    void generatedClassesAreBuiltFromTheSchemasFolderAndEveryFieldIsDocumented() throws IOException {
        for (Schema schema : List.of(ExplanationStats.getClassSchema(), AuditAlert.getClassSchema())) {
            Schema file = new Schema.Parser().parse(TestData.repo().resolve("schemas/" + schema.getName() + ".avsc").toFile());
            assertEquals(SchemaNormalization.toParsingForm(file), SchemaNormalization.toParsingForm(schema));
            List<String> undocumented = new ArrayList<>();
            undocumented(schema, undocumented);
            assertTrue(undocumented.isEmpty(), "fields without doc: " + undocumented);
        }
    }

    private static void undocumented(Schema schema, List<String> found) {
        if (schema.getType() == Schema.Type.RECORD) {
            for (Schema.Field field : schema.getFields()) {
                if (field.doc() == null || field.doc().isBlank()) {
                    found.add(schema.getName() + "." + field.name());
                }
                undocumented(field.schema(), found);
            }
        }
    }
}
