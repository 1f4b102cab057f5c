package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.testing.InJvmKafka;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.kafka.clients.CommonClientConfigs;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The built-in registry keeps its schemas in the compacted _schemas topic of a real broker. */
@Tag("slow")
class RegistryPersistenceTest {

    @Test
    void idsSurviveARestartAndIncompatibleVersionsAreRefused() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            Map<String, Object> clients = Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            int explanationId;
            int interactionId;
            byte[] written;
            try (KafkaSchemaStore store = new KafkaSchemaStore(clients, KafkaSchemaStore.DEFAULT_TOPIC, (short) 1);
                    EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0))) {
                SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
                interactionId = client.register("llm-interactions-value", LlmInteraction.getClassSchema());
                explanationId = client.register("explanations-value", Explanation.getClassSchema());
                written = new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false)
                        .serialize("explanations", SampleRecords.explanation("before-restart"));
            }
            try (KafkaSchemaStore store = new KafkaSchemaStore(clients, KafkaSchemaStore.DEFAULT_TOPIC, (short) 1);
                    EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0))) {
                SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
                assertEquals(explanationId, client.latest("explanations-value").id());
                assertEquals(interactionId, client.register("llm-interactions-value", LlmInteraction.getClassSchema()), "same id after restart");
                assertEquals("before-restart",
                        ConfluentAvroDeserializer.specific(client, Explanation.class).deserialize("explanations", written).getEventId());
                Schema incompatible = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"Explanation\",\"namespace\":\"io.explainstream.schema\","
                        + "\"fields\":[{\"name\":\"event_id\",\"type\":\"long\"}]}");
                RegistryException refused = assertThrows(RegistryException.class, () -> client.register("explanations-value", incompatible));
                assertEquals(409, refused.status());
                assertTrue(refused.getMessage().contains("event_id"), refused.getMessage());
                int third = client.register("third-value", Schema.create(Schema.Type.STRING));
                assertTrue(third > Math.max(explanationId, interactionId), "new ids continue after the stored ones: " + third);
                // Deletes are records of the topic too: a soft delete (deleted=true), then a permanent one (a tombstone).
                registry.close();
                try (EmbeddedSchemaRegistry again = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0))) {
                    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
                    for (String path : java.util.List.of("/subjects/third-value", "/subjects/llm-interactions-value",
                            "/subjects/llm-interactions-value?permanent=true")) {
                        assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(again.url() + path)).DELETE().build(),
                                java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode(), path);
                    }
                }
            }
            try (KafkaSchemaStore store = new KafkaSchemaStore(clients, KafkaSchemaStore.DEFAULT_TOPIC, (short) 1);
                    EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0))) {
                SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
                assertEquals(java.util.List.of("explanations-value"), client.subjects(), "the deleted subjects stay deleted after a restart");
                assertEquals(explanationId, client.latest("explanations-value").id());
                RegistryException gone = assertThrows(RegistryException.class, () -> client.schemaById(interactionId));
                assertEquals(40403, gone.errorCode(), "a permanently deleted schema's id no longer resolves");
            }
        }
    }
}
