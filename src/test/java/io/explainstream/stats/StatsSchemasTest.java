package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.testing.SchemaVersions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericRecord;
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

    /** A dashboard still on v1 reads the windows v2 writes, and v1 windows read with v2 get the empty defaults. */
    @Test
    void aV2WindowDecodesWithTheV1SchemaAndAV1WindowReadsWithEmptyReliance() throws IOException {
        WindowAggregate aggregate = WindowAggregate.open(new GroupKey(List.of("source_model"), List.of("m")), 0, 60_000);
        aggregate.add(new Observation(Observation.Kind.EXPLANATION, "e1", 1_000, "gradient", false, false, false, false, 10, 5, null, null, null,
                new Observation.Reliance(Map.of("system", 0.25, "user", 0.75), Map.of(), "user", null, 1.5,
                        List.of(new Observation.WordScore("Once", 2.0, 1)))), 0.05);
        ExplanationStats v2 = aggregate.toStats(true, 70_000, 0.05);
        assertEquals(0.25, v2.getReliance().get("system").getShareMean(), 0);
        Schema v1 = SchemaVersions.released("ExplanationStats.v1.avsc");
        GenericRecord read = SchemaVersions.readAsOlder(SchemaVersions.encode(v2), ExplanationStats.getClassSchema(), v1);
        assertEquals(1L, read.get("events"));
        assertEquals("source_model=m", read.get("group_key").toString());
        assertNull(read.getSchema().getField("reliance"), "a v1 reader does not see the new fields");

        ExplanationStats upgraded = SchemaVersions.writtenByOlderReadAsCurrent(read, v1, ExplanationStats.class, ExplanationStats.getClassSchema());
        assertEquals(1, upgraded.getEvents());
        assertEquals(Map.of(), upgraded.getReliance());
        assertEquals(Map.of(), upgraded.getSpanReliance());
        assertEquals(0, upgraded.getConcentration().getEvents());
        assertEquals(List.of(), upgraded.getTopWords());
        var compatible = SchemaCompatibility.checkReaderWriterCompatibility(v1, ExplanationStats.getClassSchema());
        assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE, compatible.getType(), compatible.getResult().toString());
    }
}
