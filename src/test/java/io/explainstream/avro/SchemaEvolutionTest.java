package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/**
 * The evolution rule of schemas/README.md: each schema in schemas/ reads data written with every
 * released version in schemas/released/ (BACKWARD, the subjects' compatibility level).
 */
class SchemaEvolutionTest {

    @Test
    void currentSchemasAreBackwardCompatibleWithEveryReleasedVersion() throws IOException {
        Path schemas = TestData.repo().resolve("schemas");
        int checked = 0;
        List<String> problems = new ArrayList<>();
        try (DirectoryStream<Path> released = Files.newDirectoryStream(schemas.resolve("released"), "*.avsc")) {
            for (Path file : released) {
                String name = file.getFileName().toString().replaceAll("\\.v\\d+\\.avsc$", "");
                Schema current = new Schema.Parser().parse(schemas.resolve(name + ".avsc").toFile());
                Schema old = new Schema.Parser().parse(file.toFile());
                var result = SchemaCompatibility.checkReaderWriterCompatibility(current, old);
                if (result.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                    problems.add(file.getFileName() + ": " + result.getResult().getIncompatibilities());
                }
                checked++;
            }
        }
        assertTrue(checked >= 2, "released versions checked: " + checked);
        assertTrue(problems.isEmpty(), "backward-incompatible changes: " + problems);
    }

    @Test
    void generatedClassesAreBuiltFromTheSchemasFolder() throws IOException {
        Path schemas = TestData.repo().resolve("schemas");
        // The parsing canonical form: the generated schema also carries avro.java.string properties.
        assertEquals(SchemaNormalization.toParsingForm(new Schema.Parser().parse(schemas.resolve("Explanation.avsc").toFile())),
                SchemaNormalization.toParsingForm(Explanation.getClassSchema()));
        assertEquals(SchemaNormalization.toParsingForm(new Schema.Parser().parse(schemas.resolve("LlmInteraction.avsc").toFile())),
                SchemaNormalization.toParsingForm(LlmInteraction.getClassSchema()));
    }

    @Test
    void everyFieldIsDocumented() {
        List<String> undocumented = new ArrayList<>();
        collectUndocumented(Explanation.getClassSchema(), undocumented);
        collectUndocumented(LlmInteraction.getClassSchema(), undocumented);
        assertTrue(undocumented.isEmpty(), "fields without doc: " + undocumented);
    }

    private static void collectUndocumented(Schema schema, List<String> undocumented) {
        switch (schema.getType()) {
            case RECORD:
                for (Schema.Field field : schema.getFields()) {
                    if (field.doc() == null || field.doc().isBlank()) {
                        undocumented.add(schema.getName() + "." + field.name());
                    }
                    collectUndocumented(field.schema(), undocumented);
                }
                break;
            case ARRAY:
                collectUndocumented(schema.getElementType(), undocumented);
                break;
            case UNION:
                schema.getTypes().forEach(type -> collectUndocumented(type, undocumented));
                break;
            default:
                break;
        }
    }
}
