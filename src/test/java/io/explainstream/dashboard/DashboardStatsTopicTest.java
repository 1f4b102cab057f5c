package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.stats.AvroJson;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.Scope;
import io.explainstream.testing.InJvmKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's trends and alerts come from the topics the live service's statistics
 * sub-topology publishes, on an in-JVM broker: before the service has created the statistics
 * topic, the trends are the memory's, labelled "missing"; once it publishes, /api/stats holds
 * exactly the latest version of each window and group as read from the topic independently
 * (windows are published several times before they close, so a replaced version is seen), and
 * /api/alerts the alerts as published, each naming its example events.
 */
@Tag("slow")
class DashboardStatsTopicTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @Test
    void windowsAndAlertsPublishedByTheServiceAppearThroughTheApiAsOnTheTopic(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory();
                Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", "stats", "alerts", "127.0.0.1", 0, 100, null, 0.05, null),
                        kafka.clientSettings(), RegistryConfig.of(registry.url().toString()))) {
            awaitJson(dashboard, "/api/info", info -> info.path("stats_topic_state").asText().equals("missing"));
            JsonNode before = get(dashboard, "/api/stats");
            assertEquals("memory", before.get("source").asText(), "no statistics topic yet: " + before);
            assertTrue(before.get("fallback").asText().contains("stats does not exist"), before.toString());

            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "dashboard-stats", "state.dir",
                    dir.resolve("state").toString(), "input.topic", "in", "output.topic", "explanations", "dlq.topic", "dlq", "ops.port", "-1",
                    "batch.max.wait.ms", "100", "attribution.steps", "2"));
            // Short windows that close soon after the traffic stops (grace, then the wall clock), updated every second while open.
            settings.putAll(Map.of("stats.topic", "stats", "alerts.topic", "alerts", "stats.window", "10s", "stats.grace", "3s",
                    "stats.emit.interval", "1s", "stats.group.by", "source_model",
                    // 2 integration steps leave a large completeness gap: the rule fires.
                    "alert.unfaithful.when", "delta.rel.max > 0.01"));
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Scope.live(),
                    List.of(StatsTopology.extension()), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                produce(kafka, 3);

                // Every window closed (final) and an alert fired: what the topics hold no longer changes.
                JsonNode stats = awaitJson(dashboard, "/api/stats", s -> s.path("source").asText().equals("topic") && s.get("windows").size() > 0
                        && allFinal(s.get("windows")) && s.get("totals").findValues("events").stream().mapToLong(JsonNode::asLong).sum() == 3);

                SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
                ConfluentAvroDeserializer<ExplanationStats> statsReader = ConfluentAvroDeserializer.specific(client, ExplanationStats.class);
                List<ConsumerRecord<byte[], byte[]>> versions = kafka.readCommitted("stats", records -> records.stream()
                        .filter(r -> statsReader.deserialize("stats", r.value()).getFinal$()).count() >= stats.get("windows").size(), TIMEOUT);
                Map<String, ExplanationStats> latest = new TreeMap<>();
                Map<String, Integer> versionCount = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> record : versions) {
                    ExplanationStats window = statsReader.deserialize("stats", record.value());
                    String key = window.getGroupKey() + "@" + window.getWindowStart();
                    latest.put(key, window);
                    versionCount.merge(key, 1, Integer::sum);
                }
                assertTrue(versionCount.values().stream().anyMatch(n -> n >= 2), "a window published more than once: " + versionCount);

                Map<String, JsonNode> served = new TreeMap<>();
                for (JsonNode window : stats.get("windows")) {
                    ObjectNode published = window.deepCopy();
                    published.remove(List.of("start", "end"));
                    assertTrue(served.put(window.get("group_key").asText() + "@" + window.get("window_start").asText(), published) == null,
                            "one entry per window and group: " + stats);
                }
                Map<String, JsonNode> onTopic = new TreeMap<>();
                for (Map.Entry<String, ExplanationStats> window : latest.entrySet()) {
                    onTopic.put(window.getKey(), asRead(AvroJson.of(window.getValue())));
                }
                assertEquals(onTopic, served, "the API serves the latest version of each window, with the topic's numbers");

                ConfluentAvroDeserializer<AuditAlert> alertReader = ConfluentAvroDeserializer.specific(client, AuditAlert.class);
                // Alerts are written in the transaction of their window's final record: all of them are on the topic by now.
                List<ConsumerRecord<byte[], byte[]>> fired = kafka.readCommitted("alerts", records -> !records.isEmpty(), TIMEOUT);
                JsonNode alerts = awaitJson(dashboard, "/api/alerts", a -> a.path("alerts").size() == fired.size());
                for (ConsumerRecord<byte[], byte[]> record : fired) {
                    ObjectNode published = (ObjectNode) asRead(AvroJson.of(alertReader.deserialize("alerts", record.value())));
                    assertTrue(containsAlert(alerts.get("alerts"), published), published + " in " + alerts);
                    assertFalse(published.get("example_event_ids").isEmpty(), "an alert names its example events");
                    for (JsonNode id : published.get("example_event_ids")) {
                        assertEquals(200, status(dashboard, "/api/events/" + id.asText()), "an alert's example opens as an event: " + id);
                    }
                }
                JsonNode info = get(dashboard, "/api/info");
                assertEquals("topic", info.get("trends_source").asText());
                assertEquals("reading", info.get("stats_topic_state").asText());
            }
        }
    }

    /** The served alert holds every field of the published record with its value (and adds its severity, message, model). */
    private static boolean containsAlert(JsonNode served, ObjectNode published) {
        for (JsonNode alert : served) {
            boolean all = true;
            for (var field : (Iterable<Map.Entry<String, JsonNode>>) published::fields) {
                all &= field.getValue().equals(alert.get(field.getKey()));
            }
            if (all) {
                return true;
            }
        }
        return false;
    }

    /** The node as a JSON reader sees it (numbers typed by their size, as in an HTTP answer). */
    private static JsonNode asRead(JsonNode node) throws Exception {
        return JSON.readTree(JSON.writeValueAsString(node));
    }

    private static boolean allFinal(JsonNode windows) {
        for (JsonNode window : windows) {
            if (!window.get("final").asBoolean()) {
                return false;
            }
        }
        return true;
    }

    private static void produce(InJvmKafka kafka, int events) {
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = 0; i < events; i++) {
                String id = "s-" + i;
                String event = "{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\","
                        + "\"prompt\":\"Once upon a time there was a dog.\",\"response\":\"The dog liked to run.\",\"metadata\":{\"application\":\"support\"}}";
                producer.send(new ProducerRecord<>("in", id.getBytes(StandardCharsets.UTF_8), event.getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    private static JsonNode awaitJson(Dashboard dashboard, String path, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        JsonNode answer = get(dashboard, path);
        while (!done.test(answer)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + TIMEOUT + ": " + path + " answered " + answer);
            }
            Thread.sleep(300);
            answer = get(dashboard, path);
        }
        return answer;
    }

    private static JsonNode get(Dashboard dashboard, String path) throws Exception {
        HttpResponse<String> response = send(dashboard, path);
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }

    private static int status(Dashboard dashboard, String path) throws Exception {
        return send(dashboard, path).statusCode();
    }

    private static HttpResponse<String> send(Dashboard dashboard, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(dashboard.url() + path.substring(1))).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
