package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service as its own JVM ({@code explainstream run}) against a real broker, killed with SIGKILL
 * three times while a batch is in the engine, and restarted each time while 300 events flow in.
 * Exactly-once processing must leave exactly one committed explanation per event, and the events
 * of one key (7 conversations) must be explained in the order they were logged.
 */
@Tag("slow")
@RunsBeside
class CrashRecoveryTest {

    static final int EVENTS = 300;
    private static final String[] PROMPTS = {"Once upon a time, there was a little girl named", "One day,", "The cat sat on the", "Tom had a big red"};
    private static final String[] RESPONSES = {"Lily. She loved to play", "a little girl named Lily", "mat and slept.", "ball. He liked it."};
    private static final Pattern BATCH_LINE = Pattern.compile("batch (started|done)");

    static String event(String id, int i) {
        return "{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\",\"prompt\":\""
                + PROMPTS[i % 4] + "\",\"response\":\"" + RESPONSES[i % 4] + "\"}";
    }

    /**
     * The service's configuration file: a short session timeout so that a killed member leaves the
     * group in seconds (the broker's minimum is 6 s), and 32 integration steps so that a batch
     * stays in the engine long enough to be killed there (half a second for 8 events; the test
     * sees a batch start within milliseconds).
     */
    static Path configFile(Path dir, Map<String, String> kafka, String registryUrl, String app) throws IOException {
        Map<String, String> config = ServiceProcess.instanceSettings(kafka, registryUrl, app, dir.resolve("state"));
        config.put("topics.partitions", "2");
        config.put("attribution.steps", "32");
        config.put("batch.max.events", "8");
        config.put("batch.max.wait.ms", "200");
        config.put("ops.port", "-1");
        config.put("session.timeout.ms", "6000");
        return ServiceProcess.configFile(dir.resolve(app + ".properties"), config, "crash test");
    }

    static ServiceProcess run(Path config, Path log) throws IOException {
        return ServiceProcess.start(List.of("run", "--config", config.toString()),
                List.of("-Dorg.slf4j.simpleLogger.log.io.explainstream.stream.topology.BatchingProcessor=debug"), Map.of(), log, Duration.ofMinutes(5));
    }

    /**
     * Sends the events in bursts of 10, 1 s apart, so that they keep arriving across the kills (300
     * events: about 30 s; the three lives end within about 20 s of the first one's start); event e-i
     * is keyed by its conversation, conv-(i mod 7).
     */
    static Thread produceSlowly(Map<String, String> clientSettings, String topic, int count) {
        Thread producer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(Map.<String, Object>copyOf(clientSettings), new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                for (int i = 0; i < count; i++) {
                    String id = "e-" + i;
                    byte[] conversation = ("conv-" + i % 7).getBytes(StandardCharsets.UTF_8);
                    out.send(new ProducerRecord<>(topic, conversation, event(id, i).getBytes(StandardCharsets.UTF_8)));
                    if (i % 10 == 9) {
                        out.flush();
                        Thread.sleep(1000);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "test-producer");
        producer.start();
        return producer;
    }

    @Test
    void killedThreeTimesMidBatchEveryEventIsExplainedExactlyOnce(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Path config = configFile(dir, kafka.clientSettings(), registry.url().toString(), "crash");
            Thread producer = null;
            for (int kill = 1; kill <= 3; kill++) {
                try (ServiceProcess service = run(config, dir.resolve("run-" + kill + ".log"))) {
                    if (producer == null) {
                        assertTrue(service.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), service.output());
                        producer = produceSlowly(kafka.clientSettings(), "crash-in", EVENTS);
                    }
                    // Let this life finish a batch, so that every life makes progress, then kill it
                    // as soon as the next batch enters the engine.
                    assertTrue(service.awaitOutput("batch done", Duration.ofSeconds(120)), "life " + kill + " explains:\n" + service.output());
                    awaitBatchInEngine(service);
                    service.kill();
                    String log = service.output();
                    assertEquals("started", lastBatchLine(log), "killed while a batch was in the engine, life " + kill);
                    System.out.printf("life %d: SIGKILL after %d batches done, in the engine: %s%n", kill, log.split("batch done", -1).length - 1,
                            log.substring(log.lastIndexOf("batch started")).strip());
                }
            }
            try (ServiceProcess service = run(config, dir.resolve("run-final.log"))) {
                var explanations = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                        Explanation.class);
                Map<String, List<Integer>> byConversation = new TreeMap<>();
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("crash-out", records -> records.size() >= EVENTS,
                        Duration.ofSeconds(180));
                Map<String, Integer> counts = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    String eventId = explanations.deserialize("crash-out", record.value()).getEventId();
                    counts.merge(eventId, 1, Integer::sum);
                    byConversation.computeIfAbsent(new String(record.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                            .add(Integer.parseInt(eventId.substring(2)));
                }
                assertEquals(EVENTS, counts.size(), "every event explained (0 lost)");
                List<String> duplicated = counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
                assertEquals(List.of(), duplicated, "no event explained twice");
                assertEquals(EVENTS, out.size());
                assertEquals(7, byConversation.size());
                byConversation.forEach((conversation, order) -> assertEquals(order.stream().sorted().toList(), order,
                        conversation + ": explained in the order logged"));
                assertEquals(0, kafka.readCommitted("crash-dlq", records -> false, Duration.ofSeconds(1)).size(), "no dead letters");
                service.process().destroy(); // SIGTERM: the last life stops in order
                assertTrue(service.process().waitFor(90, TimeUnit.SECONDS), "stops on SIGTERM");
            } finally {
                producer.join(60_000);
            }
        }
    }

    /** Waits until the last batch line of the log is a start: a batch is in the engine. */
    static void awaitBatchInEngine(ServiceProcess service) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && service.process().isAlive()) {
            if ("started".equals(lastBatchLine(service.output()))) {
                return;
            }
            Thread.sleep(2);
        }
        throw new AssertionError("no batch entered the engine:\n" + service.output());
    }

    static String lastBatchLine(String log) {
        Matcher matcher = BATCH_LINE.matcher(log);
        String last = null;
        while (matcher.find()) {
            last = matcher.group(1);
        }
        return last;
    }
}
