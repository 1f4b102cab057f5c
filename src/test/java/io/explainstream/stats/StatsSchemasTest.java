package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
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
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new SpecificDatumWriter<>(ExplanationStats.class).write(v2, encoder);
        encoder.flush();
        Schema v1 = new Schema.Parser().parse(TestData.repo().resolve("schemas/released/ExplanationStats.v1.avsc").toFile());
        GenericRecord read = new GenericDatumReader<GenericRecord>(ExplanationStats.getClassSchema(), v1)
                .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
        assertEquals(1L, read.get("events"));
        assertEquals("source_model=m", read.get("group_key").toString());
        assertNull(read.getSchema().getField("reliance"), "a v1 reader does not see the new fields");

        ByteArrayOutputStream v1Bytes = new ByteArrayOutputStream();
        BinaryEncoder v1Encoder = EncoderFactory.get().binaryEncoder(v1Bytes, null);
        new GenericDatumWriter<GenericRecord>(v1).write(read, v1Encoder);
        v1Encoder.flush();
        ExplanationStats upgraded = new SpecificDatumReader<ExplanationStats>(v1, ExplanationStats.getClassSchema(),
                SpecificData.getForClass(ExplanationStats.class)).read(null, DecoderFactory.get().binaryDecoder(v1Bytes.toByteArray(), null));
        assertEquals(1, upgraded.getEvents());
        assertEquals(Map.of(), upgraded.getReliance());
        assertEquals(Map.of(), upgraded.getSpanReliance());
        assertEquals(0, upgraded.getConcentration().getEvents());
        assertEquals(List.of(), upgraded.getTopWords());
        var compatible = SchemaCompatibility.checkReaderWriterCompatibility(v1, ExplanationStats.getClassSchema());
        assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE, compatible.getType(), compatible.getResult().toString());
    }
}
