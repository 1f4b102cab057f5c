package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.SegmentKind;
import io.explainstream.stats.AlertRule;
import io.explainstream.stats.StatsFixture;
import io.explainstream.stats.StatsSettings;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.testing.InJvmKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tail --stats} and {@code tail --alerts} on a real broker and registry, reading window
 * records and alerts that the real statistics sub-topology computed (in Kafka Streams, on that
 * broker) from explanations and a dead letter whose figures are chosen so that every number of the
 * printed lines can be worked out by hand.
 */
@Tag("slow")
class TailStatsCommandTest {

    private static final long T0 = Instant.parse("2026-11-29T10:00:00Z").toEpochMilli();
    private static final String GROUP = "source_model=stories260K,metadata.application=storybook";

    @TempDir
    Path stateDir;

    /**
     * Three explanations of one window and group: relative deltas 0.01 and 0.15 (|sequence delta|
     * / 2) and a gradient one without; latencies 100, 300 and 10 ms; lag 1.5 s each; two with
     * segments (system 0.02 and 0.04, user 0.98 and 0.96, doc:kb-4411 0.3 of the second) and
     * entropies 1 and 2; and one dead letter of the group.
     */
    private static List<Explanation> explanations() {
        Explanation a1 = StatsFixture.withSegments(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0.02),
                List.of(StatsFixture.segment("system", SegmentKind.SYSTEM, 0.02), StatsFixture.segment("user[0]", SegmentKind.USER, 0.98)),
                "user[0]", 1.0, List.of(StatsFixture.word("Once", 2.0), StatsFixture.word("upon", 0.5)));
        Explanation a2 = StatsFixture.withSegments(StatsFixture.explanation("a2", T0 + 2_000, "storybook", 300, 0.3),
                List.of(StatsFixture.segment("system", SegmentKind.SYSTEM, 0.04), StatsFixture.segment("user[0]", SegmentKind.USER, 0.66),
                        StatsFixture.segment("doc:kb-4411", SegmentKind.SPAN, 0.3)),
                "user[0]", 2.0, List.of(StatsFixture.word("upon", 1.0)));
        return List.of(a1, a2, StatsFixture.gradient("g1", T0 + 3_000, "storybook"));
    }

    @Test
    void tailPrintsTheWindowsAndAlertsTheStatisticsTopologyWroteWithTheirNumbers() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            createTopics(kafka);
            List<AlertRule> rules = AlertRule.fromConfig(Map.of("alert.unfaithful.when", "delta.rel.max > 0.1", "alert.kb.when",
                    "share.span:doc:kb-4411.mean < 0.5", "alert.quiet.when", "events > 100"), StatsFixture.GROUP_BY);
            // Grace 3 s: the window closes by the wall clock once the input has been quiet that long (its end is days ago).
            StatsSettings settings = StatsFixture.settings(Duration.ofMinutes(1), Duration.ofSeconds(3), Duration.ofMillis(500), rules);
            Topology topology = new Topology();
            StatsTopology.addTo(topology, settings, new StatsTopology.Codecs(ConfluentAvroDeserializer.specific(client, Explanation.class),
                    ConfluentAvroDeserializer.specific(client, LlmInteraction.class), serializer(client), serializer(client)), new SimpleMeterRegistry());
            try (KafkaStreams streams = new KafkaStreams(topology, streamsProperties(kafka))) {
                streams.start();
                produce(kafka, client);
                List<ConsumerRecord<byte[], byte[]>> windows = kafka.readCommitted("explanation-stats", records -> records.size() >= 1
                        && lastIsFinal(client, records), Duration.ofSeconds(90));
                List<ConsumerRecord<byte[], byte[]>> alerts = kafka.readCommitted("explanation-alerts", records -> records.size() >= 2,
                        Duration.ofSeconds(30));
                assertEquals(2, alerts.size(), "unfaithful and kb fire; quiet does not");

                List<String> connection = List.of("--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(),
                        "--from-beginning", "--timeout", "60", "--no-color");
                CliRun stats = CliRun.of(concat(List.of("tail", "--stats", "--max", Integer.toString(windows.size())), connection));
                assertEquals(0, stats.exitCode(), stats.err());
                List<String> lines = stats.out().lines().toList();
                assertEquals(windows.size(), lines.size(), "one line per window record:\n" + stats.out());
                // 3 events, 1 dead letter; latency p50 of 10, 100, 300 is 100 (its 2%-bucket's middle, 99.9), p95 and max 300;
                // lag 1.5 s each; delta mean (0.01 + 0.15) / 2 = 8.0%, max 15.0%, one over 5%; shares system (0.02 + 0.04) / 2,
                // user (0.98 + 0.66) / 2, span 0.3; entropy (1 + 2) / 2; words by summed |score|: Once 2, upon 1.5.
                assertEquals("2026-11-29 10:00:00–10:01:00 UTC " + GROUP + " final: 3 events, 1 dead letter · latency p50 100 ms, p95 300 ms, max 300 ms"
                        + " · lag p50 1.5 s, max 1.5 s · delta mean 8.0% max 15.0%, 1 over 5.0% · shares span 30.0%, system 3.0%, user 82.0%"
                        + " · entropy 1.50 nats · top words Once upon", lines.get(lines.size() - 1));
                for (String open : lines.subList(0, lines.size() - 1)) {
                    assertTrue(open.startsWith("2026-11-29 10:00:00–10:01:00 UTC " + GROUP + " open: "), open);
                }

                CliRun fired = CliRun.of(concat(List.of("tail", "--alerts", "--max", "2"), connection));
                assertEquals(0, fired.exitCode(), fired.err());
                assertEquals(List.of(
                        // Only a2 has the span: the examples of a rule on a span are the events that have it.
                        "ALERT kb: share.span:doc:kb-4411.mean = 0.3000 < 0.5000 · " + GROUP + " · 2026-11-29 10:00:00–10:01:00 UTC · 3 events · e.g. a2",
                        "ALERT unfaithful: delta.rel.max = 0.1500 > 0.1000 · " + GROUP + " · 2026-11-29 10:00:00–10:01:00 UTC · 3 events · e.g. a2, a1"),
                        fired.out().lines().sorted().toList(), fired.out());

                CliRun json = CliRun.of(concat(List.of("tail", "--stats", "--alerts", "--format", "json", "--max", Integer.toString(windows.size() + 2)),
                        connection));
                assertEquals(0, json.exitCode(), json.err());
                ObjectMapper mapper = new ObjectMapper();
                List<JsonNode> records = new ArrayList<>();
                for (String line : json.out().lines().toList()) {
                    records.add(mapper.readTree(line));
                }
                JsonNode closed = records.stream().filter(r -> r.path("final").asBoolean()).findFirst().orElseThrow(() -> new AssertionError(json.out()));
                assertEquals(3, closed.get("events").asLong());
                assertEquals(0.3, closed.get("span_reliance").get("doc:kb-4411").get("share_mean").asDouble(), 1e-12);
                assertEquals(0.15, closed.get("faithfulness").get("rel_delta_max").asDouble(), 1e-12);
                JsonNode unfaithful = records.stream().filter(r -> "unfaithful".equals(r.path("rule").asText())).findFirst()
                        .orElseThrow(() -> new AssertionError(json.out()));
                assertEquals(0.15, unfaithful.get("value").asDouble(), 1e-12);
                assertEquals(List.of("a2", "a1"), mapper.convertValue(unfaithful.get("example_event_ids"), List.class));
            }
        }
    }

    /** What a hostile user typed: each fails with one line naming the option, the value or the address, never a stack trace. */
    @Test
    void badOptionsAndUnreachableAddressesFailWithOneLineEach() throws Exception {
        Map<List<String>, String> refused = Map.of(
                List.of("tail", "--stats", "--max", "-1"), "error: --max = -1 must be at least 1",
                List.of("tail", "--max", "0"), "error: --max = 0 must be at least 1",
                List.of("tail", "--timeout", "-5"), "error: --timeout = -5 must be at least 1 second",
                List.of("tail", "--alerts", "--topic", "x"), "error: --topic = x: --topic chooses the explanations topic, which --stats and --alerts do not read; they read",
                List.of("tail", "--bootstrap-servers", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1", "--timeout", "5"),
                "error: the Kafka broker at bootstrap.servers = 127.0.0.1:1 could not be reached",
                List.of("tail", "--stats", "--bootstrap-servers", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1", "--timeout", "5"),
                "error: the Kafka broker at bootstrap.servers = 127.0.0.1:1 could not be reached");
        refused.forEach((args, start) -> {
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, run.exitCode(), args + ": " + run.err());
            assertEquals(1, run.err().lines().count(), args + ": " + run.err());
            assertTrue(run.err().startsWith(start), args + ": " + run.err());
            assertEquals("", run.out(), args.toString());
        });

        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            createTopics(kafka);
            CliRun noRegistry = CliRun.of("tail", "--stats", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", "http://127.0.0.1:1",
                    "--timeout", "5");
            assertEquals(2, noRegistry.exitCode(), noRegistry.err());
            assertEquals(1, noRegistry.err().lines().count(), noRegistry.err());
            assertTrue(noRegistry.err().startsWith("error: the schema registry at schema.registry.url = http://127.0.0.1:1 could not be reached"),
                    noRegistry.err());

            CliRun waiting = CliRun.of("tail", "--stats", "--alerts", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url",
                    registry.url().toString(), "--timeout", "1");
            assertEquals(0, waiting.exitCode(), waiting.err());
            assertEquals("", waiting.out());
            assertEquals(List.of("tail: waiting for new window records and alerts on explanation-stats, explanation-alerts; --from-beginning prints"
                    + " the earlier ones"), waiting.err().lines().toList());
        }
    }

    private static boolean lastIsFinal(SchemaRegistryClient client, List<ConsumerRecord<byte[], byte[]>> records) {
        var reader = ConfluentAvroDeserializer.specific(client, io.explainstream.schema.ExplanationStats.class);
        return reader.deserialize("explanation-stats", records.get(records.size() - 1).value()).getFinal$();
    }

    private void produce(InJvmKafka kafka, SchemaRegistryClient client) throws Exception {
        ConfluentAvroSerializer<Explanation> serializer = serializer(client);
        Record<byte[], byte[]> letter = new DeadLetters(1_000_000).record("bad-1".getBytes(StandardCharsets.UTF_8),
                "{\"event_id\":\"bad-1\",\"model\":\"stories260K\",\"metadata\":{\"application\":\"storybook\"}}".getBytes(StandardCharsets.UTF_8),
                new SourcePosition("in", 0, 7, T0 + 5_000), DeadLetters.Stage.VALIDATION, new IllegalArgumentException("no prompt"), "explainstream", T0 + 5_000);
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (Explanation explanation : explanations()) {
                producer.send(new ProducerRecord<>("explanations", null, explanation.getProcessingTime().toEpochMilli(),
                        explanation.getEventId().getBytes(StandardCharsets.UTF_8), serializer.serialize("explanations", explanation))).get();
            }
            producer.send(new ProducerRecord<>("dlq", null, T0 + 5_000, letter.key(), letter.value(), letter.headers())).get();
        }
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> ConfluentAvroSerializer<T> serializer(SchemaRegistryClient client) {
        return new ConfluentAvroSerializer<>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
    }

    /** The records carry event times days ago: the topics keep them whatever the broker's retention. */
    private static void createTopics(InJvmKafka kafka) throws Exception {
        StatsFixture.createTopics(kafka, Map.of("retention.ms", "-1"));
    }

    private Properties streamsProperties(InJvmKafka kafka) {
        Properties props = new Properties();
        props.putAll(kafka.clientSettings());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "tail-stats-test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        return props;
    }

    private static String[] concat(List<String> first, List<String> second) {
        return Stream.concat(first.stream(), second.stream()).toArray(String[]::new);
    }
}
