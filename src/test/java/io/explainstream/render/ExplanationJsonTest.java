package io.explainstream.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.SampleExplanations;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** What {@code tail} prints for a record read off the wire: real Avro bytes through the registry serde. */
class ExplanationJsonTest {

    private static Explanation roundTrip(Explanation explanation) throws Exception {
        try (EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            byte[] bytes = new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("explanations", explanation);
            assertEquals(0, bytes[0], "Confluent wire format");
            return ConfluentAvroDeserializer.specific(client, Explanation.class).deserialize("explanations", bytes);
        }
    }

    @Test
    void oneJsonObjectPerExplanationWithTheRecordsSnakeCaseFields() throws Exception {
        Explanation explanation = roundTrip(SampleExplanations.emoji("emoji-1"));
        String line = ExplanationJson.line(explanation);
        assertFalse(line.contains("\n"), "one line per explanation");
        JsonNode json = new ObjectMapper().readTree(line);
        for (Schema.Field field : Explanation.getClassSchema().getFields()) {
            assertTrue(json.has(field.name()), "field " + field.name());
        }
        assertEquals(Explanation.getClassSchema().getFields().size(), json.size(), "nothing but the record's fields");
        assertEquals("emoji-1", json.get("event_id").asText());
        assertEquals(1_764_460_800_000L, json.get("event_time").asLong(), "timestamps as epoch milliseconds, as Avro encodes them");
        assertTrue(json.get("replay_id").isNull(), "a null union is null, not {\"null\": …}");
        assertTrue(json.get("token_attr").isNull());
        assertEquals("INTEGRATED_GRADIENTS", json.get("method").asText());
        assertEquals("acme", json.get("metadata").get("tenant").asText());
        assertFalse(json.get("flags").get("redacted").asBoolean());
        JsonNode first = json.get("prompt_tokens").get(1);
        assertEquals(List.of("id", "text", "start", "end", "attributed", "segment"), iterable(first));
        assertEquals(explanation.getSeqAttr().get(3), json.get("seq_attr").get(3).asDouble(), 0.0, "scores exactly as published");
        assertEquals(explanation.getPromptTokens().size(), json.get("seq_attr").size());
    }

    @Test
    void theTextOfARecordReadsTheEmojiNotItsBytePieces() throws Exception {
        Explanation explanation = roundTrip(SampleExplanations.emoji("emoji-2"));
        assertTrue(explanation.getPromptTokens().stream().anyMatch(t -> t.getText().equals("<0xF0>")), "the record holds byte pieces");
        Source source = ExplanationViews.source(explanation);
        assertEquals(SampleExplanations.PROMPT, source.prompt());
        assertEquals(SampleExplanations.RESPONSE, source.response());
        String compact = new TerminalHeatmap(false).compact("emoji-2", ExplanationViews.toAttribution(explanation), source, "");
        assertTrue(compact.startsWith("emoji-2  → 'She loved the dog'"), compact);
        String colored = new TerminalHeatmap(true).compact("emoji-2", ExplanationViews.toAttribution(explanation), source, "");
        assertTrue(colored.contains("🐶"), colored);
        assertFalse(colored.contains("<0x"), colored);
    }

    private static List<String> iterable(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
