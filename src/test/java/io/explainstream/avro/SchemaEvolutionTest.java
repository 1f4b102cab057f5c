package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.NamedSpan;
import io.explainstream.schema.PromptSegment;
import io.explainstream.schema.PromptWord;
import io.explainstream.schema.SegmentKind;
import io.explainstream.schema.TopItem;
import io.explainstream.testing.SchemaVersions;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericRecord;
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
        assertTrue(checked >= 3, "released versions checked: " + checked);
        assertTrue(problems.isEmpty(), "backward-incompatible changes: " + problems);
    }

    /** FORWARD too: a consumer still on a released schema reads what the current one writes. */
    @Test
    void everyReleasedVersionReadsDataOfTheCurrentSchemas() throws IOException {
        Path schemas = TestData.repo().resolve("schemas");
        List<String> problems = new ArrayList<>();
        try (DirectoryStream<Path> released = Files.newDirectoryStream(schemas.resolve("released"), "*.avsc")) {
            for (Path file : released) {
                String name = file.getFileName().toString().replaceAll("\\.v\\d+\\.avsc$", "");
                Schema current = new Schema.Parser().parse(schemas.resolve(name + ".avsc").toFile());
                Schema old = new Schema.Parser().parse(file.toFile());
                var result = SchemaCompatibility.checkReaderWriterCompatibility(old, current);
                if (result.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                    problems.add(file.getFileName() + ": " + result.getResult().getIncompatibilities());
                }
            }
        }
        assertTrue(problems.isEmpty(), "forward-incompatible changes: " + problems);
    }

    @Test
    void aV2ExplanationDecodesWithTheV1Schema() throws IOException {
        Explanation v2 = Explanation.newBuilder(SampleRecords.explanation("e-v2"))
                .setSegments(List.of(new PromptSegment("prompt", SegmentKind.PROMPT, 0, 4, 1, 0.5, 0.25, List.of(0.5)),
                        new PromptSegment("doc:a", SegmentKind.SPAN, 0, 4, 1, 1.0, 0.75, null)))
                .setWords(List.of(new PromptWord("<s>", 0, 0, 0, 1, 0.0, 0.0), new PromptWord("Once", 0, 4, 1, 2, 1.5, 1.0)))
                .setTopTokens(List.of(new TopItem(1, "▁Once", 0, 4, 1.5)))
                .setTopWords(List.of(new TopItem(1, "Once", 0, 4, 1.5)))
                .setTopSegment("doc:a")
                .setAttributionEntropy(0.0)
                .build();
        Schema v1 = SchemaVersions.released("Explanation.v1.avsc");
        GenericRecord read = SchemaVersions.readAsOlder(SchemaVersions.encode(v2), Explanation.getClassSchema(), v1);
        assertEquals("e-v2", read.get("event_id").toString());
        assertEquals(List.of(0.0, 1.5), read.get("seq_attr"));
        assertEquals(null, read.getSchema().getField("segments"), "a v1 reader does not see the new fields");
        GenericRecord token = (GenericRecord) ((List<?>) read.get("prompt_tokens")).get(1);
        assertEquals("▁Once", token.get("text").toString());
        assertEquals(null, token.getSchema().getField("segment"));
        // And a v1 record read with v2 gets the defaults.
        Explanation upgraded = SchemaVersions.writtenByOlderReadAsCurrent(read, v1, Explanation.class, Explanation.getClassSchema());
        assertEquals(List.of(), upgraded.getSegments());
        assertEquals(null, upgraded.getTopSegment());
        assertEquals(0, upgraded.getPromptTokens().get(1).getSegment());
    }

    @Test
    void aV3ExplanationWithItsTierDecodesWithTheV2SchemaAndAV2OneReadsAsFullAndSampled() throws IOException {
        Explanation v3 = Explanation.newBuilder(SampleRecords.explanation("e-v3"))
                .setTier(io.explainstream.schema.ExplanationTier.CHEAP)
                .setTierReason(io.explainstream.schema.TierReason.BACKLOG)
                .build();
        Schema v2 = SchemaVersions.released("Explanation.v2.avsc");
        GenericRecord read = SchemaVersions.readAsOlder(SchemaVersions.encode(v3), Explanation.getClassSchema(), v2);
        assertEquals("e-v3", read.get("event_id").toString());
        assertEquals(null, read.getSchema().getField("tier"), "a v2 reader does not see the tier");
        Explanation upgraded = SchemaVersions.writtenByOlderReadAsCurrent(read, v2, Explanation.class, Explanation.getClassSchema());
        // Every record before v3 was explained in full by the sample (all events, or sample.rate's).
        assertEquals(io.explainstream.schema.ExplanationTier.FULL, upgraded.getTier());
        assertEquals(io.explainstream.schema.TierReason.SAMPLED, upgraded.getTierReason());
    }

    /** v4 appended CLENSHAW_CURTIS to the integration rules: a v3 reader takes it as the enum's default, and reads the rest. */
    @Test
    void aV4ExplanationIntegratedByClenshawCurtisDecodesWithTheV3Schema() throws IOException {
        Explanation v4 = Explanation.newBuilder(SampleRecords.explanation("e-v4")).setIntegration(io.explainstream.schema.IntegrationRule.CLENSHAW_CURTIS)
                .setSteps(17).build();
        GenericRecord read = SchemaVersions.readAsOlder(SchemaVersions.encode(v4), Explanation.getClassSchema(), SchemaVersions.released("Explanation.v3.avsc"));
        assertEquals("GAUSSLEGENDRE", read.get("integration").toString());
        assertEquals(17, read.get("steps"));
        assertEquals("e-v4", read.get("event_id").toString());
    }

    @Test
    void anInteractionWithSegmentsDecodesWithTheV1Schema() throws IOException {
        LlmInteraction v2 = LlmInteraction.newBuilder().setEventId("i-1").setTimestamp(java.time.Instant.ofEpochMilli(1_764_000_000_000L))
                .setModel("stories260K").setPrompt("Doc A. Doc B. Question?").setResponse("Answer.")
                .setSegments(List.of(new NamedSpan("doc:a", null, 0, 6), new NamedSpan("doc:b", null, 7, 13))).build();
        GenericRecord read = SchemaVersions.readAsOlder(SchemaVersions.encode(v2), LlmInteraction.getClassSchema(), SchemaVersions.released("LlmInteraction.v1.avsc"));
        assertEquals("Doc A. Doc B. Question?", read.get("prompt").toString());
    }

    @Test
    void generatedClassesAreBuiltFromTheSchemasFolder() throws IOException {
        Path schemas = TestData.repo().resolve("schemas");
        // The parsing canonical form: the generated schema also carries avro.java.string properties.
        assertEquals(SchemaNormalization.toParsingForm(new Schema.Parser().parse(schemas.resolve("Explanation.avsc").toFile())),
                SchemaNormalization.toParsingForm(Explanation.getClassSchema()));
        assertEquals(SchemaNormalization.toParsingForm(new Schema.Parser().parse(schemas.resolve("LlmInteraction.avsc").toFile())),
                SchemaNormalization.toParsingForm(LlmInteraction.getClassSchema()));
        assertEquals(SchemaNormalization.toParsingForm(new Schema.Parser().parse(schemas.resolve("ExplanationDiff.avsc").toFile())),
                SchemaNormalization.toParsingForm(io.explainstream.schema.ExplanationDiff.getClassSchema()));
    }

    @Test
    void everyFieldIsDocumented() {
        List<String> undocumented = new ArrayList<>();
        collectUndocumented(Explanation.getClassSchema(), undocumented);
        collectUndocumented(LlmInteraction.getClassSchema(), undocumented);
        collectUndocumented(io.explainstream.schema.ExplanationDiff.getClassSchema(), undocumented);
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
