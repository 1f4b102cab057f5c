package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.KafkaSchemaStore;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.cli.Main;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.output.SourceTimestamp;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.OlderKafkaBroker;
import io.explainstream.testing.ServiceProcess;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service, with the Kafka 4 clients it is built with, against a broker of Kafka 3.5, the last
 * release before KIP-937 split {@code message.timestamp.difference.max.ms} into a bound before and
 * one after the broker's clock, and one that managed clusters still run: exactly-once through a
 * SIGKILL mid-batch, dead letters, the built-in registry's schemas topic, an output topic that
 * refuses old timestamps by the older setting, and a replay of the range diffed against the live
 * explanations. The current events are keyed by 7 conversations, as CrashRecoveryTest's are, so the
 * diff must join them by their event ids (it joined 9 of 42 when it joined by record key).
 */
@Tag("slow")
// In order, though it mostly waits: the classes beside took 1,012 s against 908 s in order in a CI run,
// and its 53 s there even the two lanes, which end the suite together.
class OlderBrokerTest {

    private static final String VERSION = "3.5.2";
    private static final int FRESH = 40;

    @Test
    void onAKafka35BrokerEveryEventIsExplainedOnceAndAReplayOfItsRangeMatches(@TempDir Path dir) throws Exception {
        long tenDaysAgo = Instant.now().minus(Duration.ofDays(10)).toEpochMilli();
        try (OlderKafkaBroker kafka = OlderKafkaBroker.start(VERSION, dir.resolve("kafka"), Map.of());
                KafkaSchemaStore schemas = new KafkaSchemaStore(Map.of("bootstrap.servers", kafka.bootstrapServers()), KafkaSchemaStore.DEFAULT_TOPIC,
                        (short) 1);
                EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(schemas, EmbeddedSchemaRegistry.Settings.loopback(0))) {
            // An operator's topics: the output and dead letters refuse records more than a day from the
            // broker's clock, in the setting brokers before 3.6 know; the input takes any timestamp.
            Map<String, String> day = Map.of("message.timestamp.difference.max.ms", Long.toString(Duration.ofDays(1).toMillis()));
            kafka.createTopic("older-in", 2, Map.of("retention.ms", "-1"));
            kafka.createTopic("older-out", 2, day);
            kafka.createTopic("older-dlq", 2, day);
            Path config = CrashRecoveryTest.configFile(dir, kafka.clientSettings(), registry.url().toString(), "older");
            long started = System.currentTimeMillis();
            Thread producer;
            try (ServiceProcess service = CrashRecoveryTest.run(config, dir.resolve("run-1.log"))) {
                assertTrue(service.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), service.output() + kafka.log());
                assertTrue(service.output().contains("topic older-out refuses record timestamps outside message.timestamp.difference.max.ms = 86400000"
                        + " (1d) of the broker's clock"), "the bound is named as this broker knows it:\n" + service.output());
                producer = produce(kafka, tenDaysAgo);
                assertTrue(service.awaitOutput("batch done", Duration.ofSeconds(120)), service.output());
                CrashRecoveryTest.awaitBatchInEngine(service);
                service.kill();
                assertEquals("started", CrashRecoveryTest.lastBatchLine(service.output()), "killed while a batch was in the engine");
            }
            try (ServiceProcess service = CrashRecoveryTest.run(config, dir.resolve("run-2.log"))) {
                producer.join(60_000);
                var explanations = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                        Explanation.class);
                List<ConsumerRecord<byte[], byte[]>> out = InJvmKafka.readCommitted(kafka.clientSettings(), "older-out",
                        records -> records.size() >= FRESH + 2, Duration.ofSeconds(180));
                Map<String, Integer> counts = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    String eventId = explanations.deserialize("older-out", record.value()).getEventId();
                    counts.merge(eventId, 1, Integer::sum);
                    if (eventId.startsWith("old-")) {
                        assertTrue(record.timestamp() >= started, eventId + " written with the write time, which the topic takes");
                        assertEquals(tenDaysAgo, SourceTimestamp.read(record.headers()), eventId + ": the input's time in the header");
                    } else {
                        assertEquals(null, SourceTimestamp.read(record.headers()), eventId + " keeps its own timestamp, and needs no header");
                    }
                }
                assertEquals(FRESH + 2, counts.size(), "every event explained: " + counts.keySet() + "\n" + service.output());
                assertEquals(List.of(), counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList(),
                        "no event explained twice");
                List<ConsumerRecord<byte[], byte[]>> dead = InJvmKafka.readCommitted(kafka.clientSettings(), "older-dlq", records -> !records.isEmpty(),
                        Duration.ofSeconds(30));
                assertEquals(1, dead.size(), "the malformed event, once");
                assertEquals("validation", new String(dead.get(0).headers().lastHeader(DeadLetters.STAGE).value(), StandardCharsets.UTF_8));
                service.process().destroy();
                assertTrue(service.process().waitFor(90, TimeUnit.SECONDS), "stops on SIGTERM");
            }

            Path diff = dir.resolve("diff.json");
            try (ServiceProcess replay = ServiceProcess.start(List.of("replay", "--config", config.toString(), "--from",
                    Instant.ofEpochMilli(tenDaysAgo).minus(Duration.ofHours(1)).toString(), "--to", "now", "--replay-id", "after-upgrade", "--set",
                    "state.dir=" + dir.resolve("replay-state"), "--set", "attribution.steps=8", "--diff", "--diff-format", "json", "--diff-out",
                    diff.toString()), List.of(), Map.of(), dir.resolve("replay.log"), Duration.ofMinutes(5))) {
                assertTrue(replay.process().waitFor(4, TimeUnit.MINUTES), replay.output());
                assertEquals(0, replay.process().exitValue(), replay.output());
                assertTrue(replay.output().contains("replay after-upgrade finished: " + (FRESH + 3) + " events in range: " + (FRESH + 2)
                        + " explained, 1 dead-lettered, 0 skipped"), replay.output());
            }
            JsonNode report = new ObjectMapper().readTree(Files.readString(diff));
            assertEquals(FRESH + 2, report.get("joined").asInt(), report.toString());
            assertEquals(0, report.get("replay_only").asInt());
            assertEquals(0, report.get("against_only").asInt());
            assertEquals(1, report.get("dead_lettered_on_both").asInt());

            // The old range alone: the live side's old explanations carry the write time and are found by
            // their header; the replay's, on a topic without the bound, kept the old time.
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "diff", "--bootstrap-servers", kafka.bootstrapServers(),
                    "--registry-url", registry.url().toString(), "--replay-id", "after-upgrade", "--against", "older-out", "--from",
                    Instant.ofEpochMilli(tenDaysAgo - 3_600_000).toString(), "--to", Instant.ofEpochMilli(tenDaysAgo + 3_600_000).toString(), "--format", "json");
            assertEquals(0, code, err.toString());
            JsonNode old = new ObjectMapper().readTree(out.toString());
            assertEquals(2, old.get("joined").asInt(), old.toString());
            assertEquals(0, old.get("replay_only").asInt(), "none of the live side's old explanations is missed");
            assertEquals(0, old.get("against_only").asInt());
        }
    }

    /**
     * Two events stamped ten days ago (a backlog the input took when it was new) and a malformed one,
     * then {@link #FRESH} current ones arriving over a few seconds, so that they keep arriving across the kill.
     */
    private static Thread produce(OlderKafkaBroker kafka, long tenDaysAgo) throws Exception {
        try (KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(Map.<String, Object>copyOf(kafka.clientSettings()), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < 2; i++) {
                String id = "old-" + i;
                String event = "{\"event_id\":\"" + id + "\",\"timestamp\":" + tenDaysAgo
                        + ",\"model\":\"stories260K\",\"prompt\":\"One day,\",\"response\":\"a girl\"}";
                out.send(new ProducerRecord<>("older-in", null, tenDaysAgo, bytes(id), bytes(event))).get();
            }
            out.send(new ProducerRecord<>("older-in", bytes("malformed"), bytes("{not json"))).get();
        }
        return CrashRecoveryTest.produceSlowly(kafka.clientSettings(), "older-in", FRESH);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
