package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.cli.Main;
import io.explainstream.schema.Explanation;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.output.SourceTimestamp;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.Scope;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker that refuses every record more than a day behind its clock
 * (log.message.timestamp.before.max.ms, KIP-937, set broker-wide against producers with wrong
 * clocks), and a backlog of events ten days old in an input topic that took them when they were
 * new. Every topic the service writes inherits the bound: the output and dead-letter topics, the
 * batch store's changelog, the statistics' topics. A record that keeps a ten-day-old timestamp
 * fails its transaction on every retry; none may.
 */
@Tag("slow")
class OldTimestampsOnBrokerTest {

    private static final long DAY_MS = Duration.ofDays(1).toMillis();
    private static final long HOUR_MS = Duration.ofHours(1).toMillis();

    @Test
    void aBacklogOlderThanTheBrokersTimestampBoundIsExplainedAndNothingStalls(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start(Map.of("log.message.timestamp.before.max.ms", Long.toString(DAY_MS)));
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            // The input took these records when they were new; here a topic-level override stands in for that.
            kafka.createTopic("old-in", 2, Map.of("message.timestamp.before.max.ms", Long.toString(Long.MAX_VALUE), "retention.ms", "-1"));
            long tenDaysAgo = Instant.now().minus(Duration.ofDays(10)).toEpochMilli();
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                for (int i = 0; i < 4; i++) {
                    String value = i == 3 ? "{not json"
                            : "{\"event_id\":\"old-" + i + "\",\"timestamp\":" + tenDaysAgo + ",\"model\":\"stories260K\",\"prompt\":\"One day,\",\"response\":\"a girl\"}";
                    producer.send(new ProducerRecord<>("old-in", i % 2, tenDaysAgo, ("old-" + i).getBytes(StandardCharsets.UTF_8),
                            value.getBytes(StandardCharsets.UTF_8))).get();
                }
            }
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "old-stamps", "state.dir", dir.toString(),
                    "input.topic", "old-in", "output.topic", "old-out", "dlq.topic", "old-dlq", "attribution.steps", "8", "ops.port", "-1",
                    "audit.max.lag.ms", "0", "stats.window", "1m"));
            settings.put("stats.grace", "1s");
            long started = System.currentTimeMillis();
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Scope.live(), List.of(StatsTopology.extension()),
                    Clock.systemUTC())) {
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("old-out", records -> records.size() >= 3, Duration.ofSeconds(120));
                assertEquals(3, out.size(), "every event explained; stream thread replacements: " + service.metrics().count("explainstream.stream.thread.replacements"));
                assertEquals(1, kafka.readCommitted("old-dlq", records -> !records.isEmpty(), Duration.ofSeconds(30)).size());
                SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    assertTrue(record.timestamp() >= started, "written with the write time");
                    Explanation explanation = ConfluentAvroDeserializer.specific(client, Explanation.class).deserialize("old-out", record.value());
                    assertEquals(Instant.ofEpochMilli(tenDaysAgo), explanation.getEventTime(), "the event's time in the value");
                    assertEquals(tenDaysAgo, SourceTimestamp.read(record.headers()), "the input record's time in a header");
                }
                List<ConsumerRecord<byte[], byte[]>> stats = kafka.readCommitted("explanation-stats", records -> !records.isEmpty(), Duration.ofSeconds(60));
                assertTrue(!stats.isEmpty(), "the statistics are written too");
                assertEquals(0.0, service.metrics().count("explainstream.stream.thread.replacements"), "no write was refused");
            }
            // Re-explaining that day after a model change: the replay's explanations are written with the
            // write time as well, and diff must still find both sides' records of the replay's range
            // (it selected by record time, found none on either side, and said there was nothing to diff).
            String[] lines = replayWithDiff(settings, dir, "after-upgrade", tenDaysAgo - HOUR_MS, tenDaysAgo + HOUR_MS);
            assertTrue(lines[0].startsWith("replay after-upgrade finished: 4 events in range: 3 explained, 1 dead-lettered"), lines[0]);
            JsonNode diff = new ObjectMapper().readTree(lines[1]);
            assertEquals(3, diff.get("joined").asInt(), lines[1]);
            assertEquals(0, diff.get("replay_only").asInt());
            assertEquals(0, diff.get("against_only").asInt());
            assertEquals(1, diff.get("dead_lettered_on_both").asInt(), "the malformed event, refused on both sides");
        }
    }

    /**
     * The other side of the window: events stamped further ahead than the output topics accept
     * (message.timestamp.after.max.ms, one hour by default since Kafka 4.0) from an input topic that
     * took them (its own bound, three hours). Their explanations and dead letters are written with
     * the write time, which is before a range that starts after it yet holds their events; diff
     * started each partition at the first record stamped --from or later, never read them, and
     * reported such an event as one-sided (or, on both sides, not at all).
     */
    @Test
    void eventsStampedAheadOfTheOutputTopicsBoundAreFoundByDiff(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            kafka.createTopic("ahead-in", 2, Map.of("message.timestamp.after.max.ms", Long.toString(3 * HOUR_MS), "retention.ms", "-1"));
            long now = System.currentTimeMillis();
            long farAhead = now + 2 * HOUR_MS;
            long littleAhead = now + Duration.ofMinutes(10).toMillis();
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                long[] stamps = {farAhead, littleAhead, farAhead};
                for (int i = 0; i < 3; i++) {
                    String value = i == 2 ? "{not json"
                            : "{\"event_id\":\"ahead-" + i + "\",\"timestamp\":" + stamps[i] + ",\"model\":\"stories260K\",\"prompt\":\"One day,\",\"response\":\"a girl\"}";
                    // One partition, the little-ahead event after the far-ahead one: nothing stamped inside the range sits before it.
                    producer.send(new ProducerRecord<>("ahead-in", 0, stamps[i], ("ahead-" + i).getBytes(StandardCharsets.UTF_8),
                            value.getBytes(StandardCharsets.UTF_8))).get();
                }
            }
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "ahead-stamps", "state.dir", dir.toString(),
                    "input.topic", "ahead-in", "output.topic", "ahead-out", "dlq.topic", "ahead-dlq", "attribution.steps", "8", "ops.port", "-1",
                    "stats.enabled", "false"));
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Scope.live(), List.of(), Clock.systemUTC())) {
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("ahead-out", records -> records.size() >= 2, Duration.ofSeconds(120));
                assertEquals(2, out.size());
                ConsumerRecord<byte[], byte[]> moved = out.stream().filter(r -> r.timestamp() != littleAhead).findFirst().orElseThrow();
                assertTrue(moved.timestamp() < now + HOUR_MS, "the far-ahead explanation is written with the write time");
                assertEquals(farAhead, SourceTimestamp.read(moved.headers()));
                assertEquals(1, kafka.readCommitted("ahead-dlq", records -> !records.isEmpty(), Duration.ofSeconds(30)).size());
            }
            // A range that starts after the write time and holds every event.
            String[] lines = replayWithDiff(settings, dir, "ahead", now + Duration.ofMinutes(5).toMillis(), now + 3 * HOUR_MS);
            assertTrue(lines[0].startsWith("replay ahead finished: 3 events in range: 2 explained, 1 dead-lettered"), lines[0]);
            JsonNode diff = new ObjectMapper().readTree(lines[1]);
            assertEquals(2, diff.get("joined").asInt(), lines[1]);
            assertEquals(0, diff.get("replay_only").asInt(), lines[1]);
            assertEquals(0, diff.get("against_only").asInt(), lines[1]);
            assertEquals(1, diff.get("dead_lettered_on_both").asInt(), lines[1]);
        }
    }

    /** Runs a replay of [fromMs, toMs) with --diff (JSON) under the service's settings; its last line and the diff. */
    private static String[] replayWithDiff(Map<String, String> settings, Path dir, String replayId, long fromMs, long toMs) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> replay = new ArrayList<>(List.of("replay", "--from", Instant.ofEpochMilli(fromMs).toString(), "--to",
                Instant.ofEpochMilli(toMs).toString(), "--replay-id", replayId, "--set", "attribution.method=input_x_gradient",
                "--set", "state.dir=" + dir.resolve("replay"), "--diff", "--diff-format", "json"));
        settings.forEach((key, value) -> {
            if (!key.equals("state.dir")) {
                replay.addAll(List.of("--set", key + "=" + value));
            }
        });
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), replay.toArray(String[]::new));
        assertEquals(0, code, err.toString());
        return out.toString().split("\\R", 2);
    }
}
