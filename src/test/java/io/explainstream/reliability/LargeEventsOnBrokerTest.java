package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.BadInputCorpus;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * Valid events of 0.6-1 MB among normal ones, on a broker with Kafka's default 1 MiB limits and
 * the service's default settings. Each large event is explained or dead-lettered with a reason,
 * every normal event is explained, and the stream thread is never replaced. Before the batch store
 * kept a compact form of each event, the 600 KB prompt made a changelog record over the
 * producer's limit and every partition of the instance stopped.
 */
@Tag("slow")
class LargeEventsOnBrokerTest {

    @Test
    void largeValidEventsAreExplainedOrDeadLetteredAndNothingStalls(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "large", "state.dir", dir.toString(),
                    "input.topic", "large-in", "output.topic", "large-out", "dlq.topic", "large-dlq", "attribution.steps", "8", "ops.port", "-1"));
            Map<String, String> large = new LinkedHashMap<>();
            large.put("prompt-600k", event("prompt-600k", "Once upon a time, there was a dog. ".repeat(600_000 / 35), Map.of()));
            large.put("metadata-900k", event("metadata-900k", "One day,", Map.of("document", "x".repeat(900_000))));
            Map<String, String> many = new LinkedHashMap<>();
            for (int i = 0; i < 64; i++) {
                many.put("m" + i, Character.toString('a' + i % 26).repeat(15_000));
            }
            large.put("metadata-64x15k", event("metadata-64x15k", "One day,", many));
            List<String> normal = new ArrayList<>();
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of("max.request.size", 1_048_000))) {
                    for (int round = 0; round < 4; round++) {
                        for (Map.Entry<String, String> entry : large.entrySet()) {
                            String id = "normal-" + normal.size();
                            normal.add(id);
                            send(producer, id, BadInputCorpus.good(id));
                            if (round == 0) {
                                send(producer, entry.getKey(), entry.getValue());
                            }
                        }
                    }
                }
                // An event of exactly limits.event.bytes, sent with `send` to the input topic the service
                // created: with Kafka's default limits (1 MiB with the record's framing) it could never arrive.
                String base = event("at-limit", "", Map.of());
                String atLimit = event("at-limit", "Once upon a time, there was a cat. ".repeat(40_000).substring(0, 1_048_576 - base.length()), Map.of());
                assertEquals(1_048_576, atLimit.getBytes(StandardCharsets.UTF_8).length);
                Path lines = java.nio.file.Files.writeString(dir.resolve("at-limit.jsonl"), atLimit + "\n");
                java.io.StringWriter sendOut = new java.io.StringWriter();
                java.io.StringWriter sendErr = new java.io.StringWriter();
                int sent = io.explainstream.cli.Main.run(new java.io.PrintWriter(sendOut, true), new java.io.PrintWriter(sendErr, true), "send",
                        "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "large-in", lines.toString());
                assertEquals(0, sent, sendOut + "" + sendErr);
                large.put("at-limit", atLimit);
                int expected = normal.size() + large.size();
                List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
                List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (out.size() + dead.size() < expected && System.nanoTime() < deadline) {
                    out = kafka.readCommitted("large-out", records -> false, Duration.ofMillis(500));
                    dead = kafka.readCommitted("large-dlq", records -> false, Duration.ofMillis(100));
                }
                Map<String, Integer> outcomes = new TreeMap<>();
                out.forEach(record -> outcomes.merge(key(record), 1, Integer::sum));
                Map<String, String> reasons = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : dead) {
                    outcomes.merge(key(record), 1, Integer::sum);
                    reasons.put(key(record), new String(record.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8));
                }
                for (String id : normal) {
                    assertTrue(out.stream().anyMatch(record -> key(record).equals(id)), id + " is explained; outcomes " + outcomes);
                }
                for (String id : large.keySet()) {
                    assertEquals(1, outcomes.getOrDefault(id, 0), id + " has exactly one outcome; dead letters " + reasons);
                }
                assertEquals(expected, out.size() + dead.size(), "one outcome per event: " + outcomes);
                assertTrue(out.stream().anyMatch(record -> key(record).equals("prompt-600k")), "the truncated 600 KB prompt is explained");
                assertEquals(0.0, service.metrics().count("explainstream.stream.thread.replacements"), "the stream thread was never replaced");
            }
        }
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return new String(record.key(), StandardCharsets.UTF_8);
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String key, String value) {
        producer.send(new ProducerRecord<>("large-in", key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)));
    }

    private static String event(String id, String prompt, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{\"event_id\":\"").append(id).append("\",\"timestamp\":").append(BadInputCorpus.NOW)
                .append(",\"model\":\"stories260K\",\"prompt\":\"").append(prompt).append("\",\"response\":\"a little girl named Lily\",\"metadata\":{");
        String separator = "";
        for (Map.Entry<String, String> entry : metadata.entrySet()) {
            json.append(separator).append('"').append(entry.getKey()).append("\":\"").append(entry.getValue()).append('"');
            separator = ",";
        }
        return json.append("}}").toString();
    }
}
