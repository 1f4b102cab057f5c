package io.explainstream.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.ChatMessage;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.NamedSpan;
import io.explainstream.schema.PromptSegment;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RAG-style events (a question over two retrieved documents) through the running service on a
 * real broker, as JSON and as Confluent-framed Avro, plain and in chat form: each explanation's
 * segments name both documents and their shares sum to 1; a bad span is a dead letter naming it.
 */
@Tag("slow")
class SegmentsOnBrokerTest {

    private static final String RELEVANT = "Lily has a big red ball. She plays with it in the park every day.";
    private static final String OTHER = "It rained all day and the river was full of water.";
    private static final String QUESTION = "Documents:\n[1] " + RELEVANT + "\n[2] " + OTHER + "\nQuestion: What does Lily play with?";
    private static final String RESPONSE = "Lily plays with her big red ball in the park.";
    private static final int RELEVANT_START = QUESTION.indexOf(RELEVANT);
    private static final int OTHER_START = QUESTION.indexOf(OTHER);

    @Test
    void ragEventsGetSegmentsNamingBothDocumentsWithSharesSummingToOne(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "segments", "state.dir", dir.toString(),
                    "input.topic", "rag-in", "output.topic", "rag-out", "dlq.topic", "rag-dlq", "attribution.steps", "8",
                    "attribution.token.matrix", "true", "summary.top.k", "3", "ops.port", "-1"));
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                byte[] avro = new ConfluentAvroSerializer<LlmInteraction>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("rag-in",
                        LlmInteraction.newBuilder().setEventId("rag-avro").setTimestamp(Instant.now()).setModel("stories260K")
                                .setMessages(List.of(new ChatMessage("system", "Answer from the documents."), new ChatMessage("user", QUESTION)))
                                .setResponse(RESPONSE)
                                .setSegments(List.of(new NamedSpan("doc:ball", 1, RELEVANT_START, RELEVANT_START + RELEVANT.length()),
                                        new NamedSpan("doc:rain", 1, OTHER_START, OTHER_START + OTHER.length())))
                                .build());
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    producer.send(new ProducerRecord<>("rag-in", bytes("rag-json"), bytes(plainEvent("rag-json",
                            "[{\"name\":\"doc:ball\",\"start\":" + RELEVANT_START + ",\"end\":" + (RELEVANT_START + RELEVANT.length()) + "},"
                                    + "{\"name\":\"doc:rain\",\"start\":" + OTHER_START + ",\"end\":" + (OTHER_START + OTHER.length()) + "}]"))));
                    producer.send(new ProducerRecord<>("rag-in", bytes("rag-avro"), avro));
                    producer.send(new ProducerRecord<>("rag-in", bytes("rag-overlap"), bytes(plainEvent("rag-overlap",
                            "[{\"name\":\"doc:ball\",\"start\":10,\"end\":50},{\"name\":\"doc:rain\",\"start\":40,\"end\":60}]"))));
                }
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("rag-out", records -> records.size() >= 2, Duration.ofSeconds(180));
                List<ConsumerRecord<byte[], byte[]>> dead = kafka.readCommitted("rag-dlq", records -> records.size() >= 1, Duration.ofSeconds(60));

                var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
                Map<String, Explanation> explained = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    explained.put(new String(record.key(), StandardCharsets.UTF_8), deserializer.deserialize("rag-out", record.value()));
                }
                assertEquals(List.of("rag-avro", "rag-json"), List.copyOf(explained.keySet()));
                checkSegments(explained.get("rag-json"), List.of("prompt", "doc:ball", "doc:rain"));
                checkSegments(explained.get("rag-avro"), List.of("template", "system", "user[0]", "doc:ball", "doc:rain"));

                assertEquals(1, dead.size());
                var reason = dead.get(0).headers().lastHeader(DeadLetters.REASON);
                assertNotNull(reason);
                assertEquals("segments[1] 'doc:rain' [40, 60) overlaps segments[0] 'doc:ball' [10, 50)", new String(reason.value(), StandardCharsets.UTF_8));
            }
        }
    }

    private static void checkSegments(Explanation explanation, List<String> names) {
        assertEquals(names, explanation.getSegments().stream().map(PromptSegment::getName).toList(), explanation.getEventId());
        double shares = 0;
        double scores = 0;
        int tokens = 0;
        for (PromptSegment segment : explanation.getSegments()) {
            shares += segment.getShare();
            scores += segment.getScore();
            tokens += segment.getTokens();
            assertEquals(explanation.getResponseTokens().size(), segment.getTokenScores().size(), "one score per response token");
        }
        double total = explanation.getSeqAttr().stream().mapToDouble(Double::doubleValue).sum();
        assertEquals(1, shares, 1e-12, explanation.getEventId() + ": shares sum to 1");
        assertEquals(total, scores, 1e-9, explanation.getEventId() + ": segment scores sum to seq_attr's");
        assertEquals(explanation.getPromptTokens().size(), tokens, "every token in one segment");
        for (String document : List.of("doc:ball", "doc:rain")) {
            PromptSegment segment = explanation.getSegments().stream().filter(s -> s.getName().equals(document)).findFirst().orElseThrow();
            assertTrue(segment.getTokens() > 10, document + " holds the document's tokens: " + segment);
            assertTrue(segment.getShare() > 0, document);
        }
        assertEquals(3, explanation.getTopTokens().size(), "summary.top.k");
        assertEquals(3, explanation.getTopWords().size());
        assertNotNull(explanation.getTopSegment());
        assertTrue(explanation.getAttributionEntropy() > 0);
        System.out.printf("%s: %s · top segment %s · entropy %.3f%n", explanation.getEventId(), explanation.getSegments().stream()
                .map(s -> String.format(java.util.Locale.ROOT, "%s %.3f (%+.4f)", s.getName(), s.getShare(), s.getScore())).toList(),
                explanation.getTopSegment(), explanation.getAttributionEntropy());
    }

    private static String plainEvent(String id, String segments) {
        return "{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\",\"prompt\":"
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(QUESTION) + ",\"response\":\"" + RESPONSE + "\",\"segments\":" + segments + "}";
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
