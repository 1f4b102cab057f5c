package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.InMemorySchemaStore;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.embedded.EmbeddedKafkaBroker;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.testing.InJvmKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The schema registry is down from before the service starts, so the start-time check of the
 * output subject cannot run and the service starts anyway. Events arrive: JSON events, whose
 * explanations cannot be written (the Explanation schema is not registered yet), and Avro events,
 * which cannot be read. Neither is the events' fault, so none may go to the dead-letter topic: the
 * service retries, fails the stream thread, replaces it, and redoes the work until the registry is
 * back; then each event is explained once. Meanwhile /health reports the replace loop.
 */
@Tag("slow")
class RegistryOutageTest {

    private static final int AVRO_EVENTS = 12;
    private static final int JSON_EVENTS = 6;

    @Test
    void eventsMetDuringARegistryOutageAreExplainedOnceItIsBackAndNoneIsDeadLettered(@TempDir Path dir) throws Exception {
        InMemorySchemaStore schemas = new InMemorySchemaStore();
        EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(schemas, EmbeddedSchemaRegistry.Settings.loopback(0));
        int port = registry.url().getPort();
        try (InJvmKafka kafka = InJvmKafka.start()) {
            List<byte[]> avroEvents = framedEvents(registry);
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "schema.registry.max.retries", "1",
                    "schema.registry.retry.backoff.ms", "100", "application.id", "registry-outage", "state.dir", dir.toString(),
                    "input.topic", "ro-in", "output.topic", "ro-out", "dlq.topic", "ro-dlq", "attribution.steps", "8", "ops.port", "0"));
            settings.put("batch.max.wait.ms", "200");
            settings.put("health.thread.replacements.max", "1");
            // A replaced thread rejoins once the group drops its predecessor: 6 s (the broker's minimum), not 45.
            settings.put("session.timeout.ms", "6000");
            // The registry is down before the service starts: the start-time check of the output subject
            // cannot run, the service starts anyway, and the first writes meet the outage.
            registry.close();
            assertFalse(EmbeddedKafkaBroker.accepts("127.0.0.1:" + port), "the registry is down");
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC())) {
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    for (int i = 0; i < JSON_EVENTS; i++) {
                        producer.send(new ProducerRecord<>("ro-in", ("rj-" + i).getBytes(StandardCharsets.UTF_8),
                                CrashRecoveryTest.event("rj-" + i, i).getBytes(StandardCharsets.UTF_8)));
                    }
                    producer.flush();
                    Thread.sleep(4000); // the JSON events' batches are flushed, and their writes fail, before the Avro events come
                    for (int i = 0; i < AVRO_EVENTS; i++) {
                        producer.send(new ProducerRecord<>("ro-in", ("ro-" + i).getBytes(StandardCharsets.UTF_8), avroEvents.get(i)));
                    }
                }
                // The service meets the outage: its reads fail, the thread is replaced, the reads are tried again.
                List<ConsumerRecord<byte[], byte[]>> during = kafka.readCommitted("ro-out", records -> false, Duration.ofSeconds(10));
                assertEquals(0, during.size(), "nothing can be written or read without the registry");
                // /health tells the truth: a thread failing over and over is not healthy.
                // A replaced thread waits for the group to drop its predecessor (session.timeout.ms)
                // before it fails again: poll rather than expect a count by now.
                HttpResponse<String> health = get(service, "/health");
                for (long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos(); health.statusCode() == 200 && System.nanoTime() < deadline;
                        health = get(service, "/health")) {
                    Thread.sleep(200);
                }
                assertEquals(503, health.statusCode(), health.body());
                assertTrue(health.body().matches(".*stream thread replaced \\d+ times in the last 300 s \\(health.thread.replacements.max = 1\\); "
                        + "last error: .*"), health.body());
                // ... and why, down to the root cause, on one line without a stack trace.
                assertTrue(health.body().matches("(?s).*last error: [^\n]*; caused by [^\n]*schema registry [^\n]*") && !health.body().contains("stacktrace="),
                        health.body());
                assertEquals(0, kafka.readCommitted("ro-dlq", records -> false, Duration.ofSeconds(1)).size(), "and nothing is dead-lettered");
                registry = EmbeddedSchemaRegistry.start(schemas, EmbeddedSchemaRegistry.Settings.loopback(port));

                int events = JSON_EVENTS + AVRO_EVENTS;
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("ro-out", records -> records.size() >= events, Duration.ofSeconds(120));
                Map<String, Integer> counts = new TreeMap<>();
                out.forEach(record -> counts.merge(new String(record.key(), StandardCharsets.UTF_8), 1, Integer::sum));
                assertEquals(events, counts.size(), "every event explained");
                assertEquals(events, out.size(), "none twice: " + counts);
                assertEquals(0, kafka.readCommitted("ro-dlq", records -> false, Duration.ofSeconds(1)).size(), "no dead letters");
                assertEquals(KafkaStreams.State.RUNNING, service.state());
                assertEquals(200, get(service, "/ready").statusCode(), "ready: RUNNING with the model loaded");
            }
        } finally {
            registry.close();
        }
    }

    static HttpResponse<String> get(ExplainService service, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.operationsPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Events framed as Confluent Avro, their schema registered while the registry is up. */
    private static List<byte[]> framedEvents(EmbeddedSchemaRegistry registry) {
        var serializer = new ConfluentAvroSerializer<LlmInteraction>(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                SubjectNameStrategy.TOPIC_NAME, true, false);
        List<byte[]> events = new ArrayList<>();
        for (int i = 0; i < AVRO_EVENTS; i++) {
            events.add(serializer.serialize("ro-in", LlmInteraction.newBuilder().setEventId("ro-" + i).setTimestamp(Instant.now())
                    .setModel("stories260K").setPrompt("One day,").setResponse("a little girl named Lily").build()));
        }
        return events;
    }
}
