package io.explainstream.stream.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.stream.config.BatchPolicy;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.ingest.InputDecoder;
import io.explainstream.stream.ingest.InputFormat;
import io.explainstream.stream.ingest.ValidationPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus of docs/bad-input.md: every kind goes to the dead-letter topic with its
 * reason, or is handled as documented (truncated and flagged, skipped and counted, explained
 * again), and the stream explains a good event after each one.
 */
class BadInputCorpusTest {

    @Test
    void everyKindIsRoutedWithItsReasonOrHandledAsDocumentedAndTheStreamGoesOn(@TempDir Path state) throws Exception {
        StreamFixture fixture = StreamFixture.get();
        try (EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            byte[] framedGood = new ConfluentAvroSerializer<LlmInteraction>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("in",
                    LlmInteraction.newBuilder().setEventId("avro").setTimestamp(Instant.ofEpochMilli(BadInputCorpus.NOW)).setModel("stories260K")
                            .setPrompt("One day,").setResponse("a little girl").build());
            ValidationPolicy policy = ServiceConfig.of(Map.of("model.accept", "stories260K")).validationPolicy();
            ServiceMetrics metrics = new ServiceMetrics(new SimpleMeterRegistry());
            // An engine-time budget no batch meets, however loaded the machine: the test driver's commits do not renew it, and
            // on a busy machine the long prompt's estimate did not fit what the short events had spent, so it waited to the end.
            var topology = ExplainTopology.build(new ExplainTopology.Topics("in", "out", "dlq", new BatchPolicy(1, 100_000, 60_000, 3_600, 7_200_000, true)),
                    new InputDecoder(InputFormat.AUTO, ConfluentAvroDeserializer.specific(client, LlmInteraction.class)), fixture.validator(policy),
                    fixture.explainer(policy), new ConfluentAvroSerializer<>(client, SubjectNameStrategy.TOPIC_NAME, true, false), metrics,
                    StreamFixture.liveness(), Clock.systemUTC());
            Properties props = new Properties();
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "corpus");
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
            try (TopologyTestDriver driver = new TopologyTestDriver(topology, props)) {
                TestInputTopic<byte[], byte[]> input = driver.createInputTopic("in", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
                TestOutputTopic<byte[], Explanation> output = driver.createOutputTopic("out", Serdes.ByteArray().deserializer(),
                        ConfluentAvroDeserializer.specific(client, Explanation.class));
                TestOutputTopic<byte[], byte[]> dead = driver.createOutputTopic("dlq", Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer());
                Map<String, BadInputCorpus.Case> corpus = BadInputCorpus.cases(framedGood);
                assertTrue(corpus.size() >= 25, "at least 25 kinds: " + corpus.size());
                input.pipeInput(new TestRecord<>("good-0".getBytes(StandardCharsets.UTF_8), BadInputCorpus.good("good-0").getBytes(StandardCharsets.UTF_8),
                        new RecordHeaders(), BadInputCorpus.NOW));
                assertEquals("good-0", output.readValue().getEventId());
                List<String> problems = new ArrayList<>();
                int n = 0;
                for (Map.Entry<String, BadInputCorpus.Case> entry : corpus.entrySet()) {
                    String kind = entry.getKey();
                    BadInputCorpus.Case bad = entry.getValue();
                    input.pipeInput(new TestRecord<>(kind.getBytes(StandardCharsets.UTF_8), bad.value(), new RecordHeaders(), BadInputCorpus.NOW));
                    String outcome = observe(bad, output, dead, metrics);
                    if (outcome != null) {
                        problems.add(kind + ": " + outcome);
                    }
                    String goodId = "good-" + (++n);
                    input.pipeInput(new TestRecord<>(goodId.getBytes(StandardCharsets.UTF_8), BadInputCorpus.good(goodId).getBytes(StandardCharsets.UTF_8),
                            new RecordHeaders(), BadInputCorpus.NOW));
                    Explanation after = output.isEmpty() ? null : output.readValue();
                    if (after == null || !after.getEventId().equals(goodId)) {
                        problems.add(kind + ": the next good event was not explained");
                    }
                }
                assertTrue(problems.isEmpty(), String.join("\n", problems));
            }
        }
    }

    /** Checks what happened to one bad record; returns a problem or null. */
    private static String observe(BadInputCorpus.Case bad, TestOutputTopic<byte[], Explanation> output, TestOutputTopic<byte[], byte[]> dead,
            ServiceMetrics metrics) {
        Explanation explanation = output.isEmpty() ? null : output.readValue();
        BadInputCorpus.DeadLetter deadLetter = null;
        if (!dead.isEmpty()) {
            var record = dead.readRecord();
            deadLetter = new BadInputCorpus.DeadLetter(record.key(), record.value(), record.headers());
        }
        String skipReason = BadInputCorpus.skipReason(bad);
        double skips = skipReason == null ? 0 : metrics.count("explainstream.events.skipped", "reason", skipReason);
        return BadInputCorpus.problem(bad, explanation, deadLetter, skips);
    }
}
