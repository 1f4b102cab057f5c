package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.FreePort;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
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
 * The statistics scale out with the service: two `run` JVMs with one application id share a
 * 4-partition input and the statistics' tasks; /api/stats answers for every group on either
 * instance (forwarding to the owner); one instance is killed (SIGKILL) mid-stream, the survivor
 * takes over its explanation and window tasks from their changelogs, and in the end every
 * window's event count equals the explanations in it, counted independently from the
 * explanations topic: nothing lost, nothing counted twice across the failover.
 */
@Tag("slow")
@RunsBeside
class StatsScaleTest {

    private static final int EVENTS = 80;
    private static final int TENANTS = 7;
    private static final long WINDOW_MS = 20_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path configFile(Path dir, Map<String, String> kafka, String registryUrl, String instance, int opsPort) throws Exception {
        Map<String, String> config = ServiceProcess.instanceSettings(kafka, registryUrl, "scale", dir.resolve("state-" + instance));
        config.put("topics.partitions", "4");
        config.put("attribution.steps", "16");
        config.put("ops.port", Integer.toString(opsPort));
        config.put("stats.window", "20s");
        // Explanations redone after the failover keep their event times: a grace longer than the
        // stall (the dead instance's transaction timeout) keeps them in their windows.
        config.put("stats.grace", "10m");
        // The failover is what is tested here, not how long the defaults make it (FailoverTest
        // measures those): the group drops the killed member after 6 s, and its open transaction
        // times out after 15 s, so the survivor resumes within about 25 s instead of 70.
        config.put("session.timeout.ms", "6000");
        config.put("batch.max.seconds", "5");
        config.put("producer.transaction.timeout.ms", "15000");
        config.put("stats.emit.interval", "1s");
        config.put("stats.group.by", "metadata.tenant");
        return ServiceProcess.configFile(dir.resolve(instance + ".properties"), config, "stats scale test, instance " + instance);
    }


    private static Thread produce(InJvmKafka kafka) {
        Thread producer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> out = kafka.producer(Map.of())) {
                for (int i = 0; i < EVENTS; i++) {
                    String event = "{\"event_id\":\"s-" + i + "\",\"timestamp\":" + System.currentTimeMillis()
                            + ",\"model\":\"stories260K\",\"prompt\":\"Once upon a time, there was a little girl named\",\"response\":\"Lily. She loved to play\","
                            + "\"metadata\":{\"tenant\":\"t" + i % TENANTS + "\"}}";
                    out.send(new ProducerRecord<>("scale-in", ("s-" + i).getBytes(StandardCharsets.UTF_8), event.getBytes(StandardCharsets.UTF_8)));
                    if (i % 8 == 7) {
                        out.flush();
                        Thread.sleep(1500);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "test-producer");
        producer.start();
        return producer;
    }

    /**
     * The answer, asking again while it is 503 (the stores not readable during a rebalance, or an
     * instance that died still in the metadata until the session timeout). A dropped connection
     * fails the test: the service must always answer.
     */
    private static JsonNode get(int port, String pathAndQuery) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (true) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 503 || System.nanoTime() > deadline) {
                assertEquals(200, response.statusCode(), response.body());
                return JSON.readTree(response.body());
            }
            Thread.sleep(500);
        }
    }

    @Test
    void twoInstancesShareTheWindowsAndAfterOneIsKilledEveryWindowCountsItsExplanationsOnce(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            int portA = FreePort.onLoopback();
            int portB = FreePort.onLoopback();
            try (ServiceProcess a = ServiceProcess.start(List.of("run", "--config", configFile(dir, kafka.clientSettings(), registry.url().toString(), "a",
                    portA).toString()), List.of(), Map.of(), dir.resolve("a.log"), Duration.ofMinutes(7));
                    ServiceProcess b = ServiceProcess.start(List.of("run", "--config", configFile(dir, kafka.clientSettings(), registry.url().toString(), "b",
                            portB).toString()), List.of(), Map.of(), dir.resolve("b.log"), Duration.ofMinutes(7))) {
                assertTrue(a.awaitOutput("ExplainStream running", Duration.ofSeconds(150)), a.output());
                assertTrue(b.awaitOutput("ExplainStream running", Duration.ofSeconds(150)), b.output());
                Thread producer = produce(kafka);
                // Both instances hold window tasks; either answers for every group.
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                JsonNode fromA = null;
                while (System.nanoTime() < deadline) {
                    Thread.sleep(2000);
                    fromA = get(portA, "/api/stats");
                    if (fromA.path("windows").size() > 0 && fromA.path("windows").findValues("group_key").stream().map(JsonNode::asText).distinct().count() == TENANTS) {
                        break;
                    }
                }
                assertEquals(TENANTS, fromA.path("windows").findValues("group_key").stream().map(JsonNode::asText).distinct().count(), "every tenant: " + fromA);
                String group = "metadata.tenant=t3";
                JsonNode viaA = get(portA, "/api/stats?group=" + StatsQueries.encode(group));
                JsonNode viaB = get(portB, "/api/stats?group=" + StatsQueries.encode(group));
                assertTrue(viaA.path("windows").size() > 0, viaA.toString());
                assertEquals(viaA.path("windows").get(0).path("window_start"), viaB.path("windows").get(0).path("window_start"),
                        "the instance that does not hold the group forwards to the one that does");
                HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + portA
                        + "/api/stats?from=soon")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(400, refused.statusCode());
                JsonNode reason = new com.fasterxml.jackson.databind.ObjectMapper().readTree(refused.body());
                assertEquals(400, reason.path("status").asInt(), "the dashboard's error body: " + reason);
                assertTrue(reason.path("error").asText().contains("soon"), reason.toString());

                a.kill();
                // Asked at once, the survivor still sees the dead instance as the owner of half the
                // windows: it answers 503 until the group notices, then 200 with every window it holds.
                get(portB, "/api/stats");
                producer.join(120_000);

                var explanations = ConfluentAvroDeserializer.specific(client, Explanation.class);
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("scale-out", records -> records.size() >= EVENTS, Duration.ofMinutes(3));
                Map<String, Long> expected = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    Explanation e = explanations.deserialize("scale-out", record.value());
                    long start = Math.floorDiv(e.getEventTime().toEpochMilli(), WINDOW_MS) * WINDOW_MS;
                    expected.merge(WindowProcessor.statsKey("metadata.tenant=" + e.getMetadata().get("tenant"), start), 1L, Long::sum);
                }
                assertEquals(EVENTS, out.size(), "every event explained once");

                var statsReader = ConfluentAvroDeserializer.specific(client, ExplanationStats.class);
                Map<String, Long> counted = new TreeMap<>();
                long statsDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!counted.equals(expected) && System.nanoTime() < statsDeadline) {
                    counted.clear();
                    for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted("explanation-stats", records -> false, Duration.ofSeconds(2))) {
                        counted.put(new String(record.key(), StandardCharsets.UTF_8), statsReader.deserialize("explanation-stats", record.value()).getEvents());
                    }
                }
                assertEquals(expected, counted, "each window's latest record counts exactly the explanations in it");
                JsonNode survivor = get(portB, "/api/stats");
                long survivorEvents = 0;
                for (JsonNode window : survivor.path("windows")) {
                    survivorEvents += window.path("events").asLong();
                }
                assertEquals(EVENTS, survivorEvents,
                        "the survivor's stores hold every window: " + survivor);
            }
        }
    }
}
