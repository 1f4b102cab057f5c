package io.explainstream.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.InMemorySchemaStore;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
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

    private static final long NOW = System.currentTimeMillis();

    /** A corpus entry: its value bytes and what must happen to it. */
    private record Case(byte[] value, String outcome) {
        static Case dlq(String json, String reason) {
            return new Case(json == null ? null : json.getBytes(StandardCharsets.UTF_8), "dlq:" + reason);
        }
    }

    private static String event(String id, String extra) {
        return "{\"event_id\":\"" + id + "\",\"timestamp\":" + NOW + ",\"model\":\"stories260K\"" + extra + "}";
    }

    private static String good(String id) {
        return event(id, ",\"prompt\":\"One day,\",\"response\":\"a little girl named Lily\"");
    }

    private static Map<String, Case> corpus(byte[] framedGood) {
        Map<String, Case> cases = new LinkedHashMap<>();
        cases.put("malformed-json", Case.dlq("{\"event_id\": \"x\", \"timestamp\": ", "value is not valid JSON"));
        cases.put("json-array", Case.dlq("[1, 2, 3]", "value must be a JSON object, found array"));
        cases.put("wrong-type", Case.dlq(event("x", ",\"prompt\":7,\"response\":\"r\""), "field 'prompt' must be a string, found number 7"));
        cases.put("missing-event-id", Case.dlq("{\"timestamp\":" + NOW + ",\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}", "field 'event_id' is missing"));
        cases.put("missing-prompt", Case.dlq(event("x", ",\"response\":\"r\""), "field 'prompt' or 'messages' is required"));
        cases.put("prompt-and-messages", Case.dlq(event("x", ",\"prompt\":\"p\",\"messages\":[{\"role\":\"user\",\"content\":\"c\"}],\"response\":\"r\""),
                "set either prompt or messages, not both"));
        cases.put("empty-prompt", Case.dlq(event("x", ",\"prompt\":\"\",\"response\":\"r\""), "field 'prompt' is empty"));
        cases.put("empty-response", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"\""), "field 'response' is empty"));
        cases.put("missing-response", Case.dlq(event("x", ",\"prompt\":\"p\""), "field 'response' is missing"));
        cases.put("unknown-field", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"temperature\":0.7"), "unknown field 'temperature'"));
        cases.put("one-megabyte-prompt", Case.dlq(event("x", ",\"prompt\":\"" + "a ".repeat(524_288) + "\",\"response\":\"r\""),
                "bytes, more than limits.event.bytes = 1048576"));
        cases.put("prompt-over-token-limit", new Case(event("long", ",\"prompt\":\"" + "the cat sat. ".repeat(500) + "\",\"response\":\"and ran\"")
                .getBytes(StandardCharsets.UTF_8), "explained:truncated"));
        byte[] invalidUtf8 = event("x", ",\"prompt\":\"p\",\"response\":\"r\"").getBytes(StandardCharsets.UTF_8);
        invalidUtf8[invalidUtf8.length - 4] = (byte) 0xC3; // a lead byte followed by a quote
        cases.put("invalid-utf8", new Case(invalidUtf8, "dlq:value is not valid JSON (or not UTF-8)"));
        cases.put("nul-byte", Case.dlq(event("x", ",\"prompt\":\"a\\u0000b\",\"response\":\"r\""), "field 'prompt' contains a NUL character at index 1"));
        byte[] unknownId = framedGood.clone();
        ByteBuffer.wrap(unknownId).putInt(1, 9999);
        cases.put("avro-unknown-schema-id", new Case(unknownId, "dlq:Avro value cannot be read: unknown schema id 9999"));
        byte[] wrongMagic = framedGood.clone();
        wrongMagic[0] = 1;
        cases.put("avro-wrong-magic-byte", new Case(wrongMagic, "dlq:value starts with byte 0x01: neither JSON nor Confluent-framed Avro"));
        cases.put("avro-truncated", new Case(Arrays.copyOf(framedGood, framedGood.length - 8), "dlq:truncated or corrupt Avro payload"));
        cases.put("avro-header-only", new Case(Arrays.copyOf(framedGood, 5), "dlq:truncated or corrupt Avro payload"));
        cases.put("token-ids-outside-vocabulary", Case.dlq(event("x", ",\"prompt\":\"One\",\"response\":\"day\",\"prompt_token_ids\":[1,99999]"),
                "prompt_token_ids[1] = 99999 is outside the vocabulary of 512 tokens"));
        cases.put("token-ids-of-another-tokenizer", Case.dlq(event("x", ",\"prompt\":\"One\",\"response\":\"day\",\"prompt_token_ids\":[1,7]"),
                "prompt_token_ids differ from the tokenizer's encoding at position 1"));
        cases.put("negative-timestamp", Case.dlq("{\"event_id\":\"x\",\"timestamp\":-5,\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}",
                "field 'timestamp' = -5 is before 1970-01-01"));
        cases.put("far-future-timestamp", Case.dlq("{\"event_id\":\"x\",\"timestamp\":" + (NOW + 86_400_000L * 30)
                + ",\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}", "is more than a day in the future"));
        cases.put("timestamp-not-a-time", Case.dlq("{\"event_id\":\"x\",\"timestamp\":\"yesterday\",\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}",
                "field 'timestamp' = 'yesterday' is not an ISO-8601 instant"));
        cases.put("unknown-model", new Case(good("other").replace("stories260K", "gpt-x").getBytes(StandardCharsets.UTF_8), "skipped:other_model"));
        StringBuilder metadata = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            metadata.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        cases.put("oversized-metadata", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{" + metadata + "}"),
                "metadata has 100 entries, more than limits.metadata.entries = 64"));
        cases.put("metadata-not-string", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"r\",\"metadata\":{\"n\":1}"),
                "metadata['n'] must be a string"));
        cases.put("duplicated-event-id", new Case(good("good-0").getBytes(StandardCharsets.UTF_8), "explained:again"));
        cases.put("tombstone", Case.dlq(null, "value is null (a tombstone)"));
        cases.put("empty-value", new Case(new byte[0], "dlq:value is empty"));
        cases.put("chat-roles-not-alternating", Case.dlq(event("x",
                ",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}],\"response\":\"r\""),
                "messages[1]: roles must alternate"));
        cases.put("unknown-chat-role", Case.dlq(event("x", ",\"messages\":[{\"role\":\"wizard\",\"content\":\"a\"}],\"response\":\"r\""),
                "messages[0].role = 'wizard' is not a chat role"));
        cases.put("response-over-token-limit", Case.dlq(event("x", ",\"prompt\":\"p\",\"response\":\"" + "the cat sat. ".repeat(200) + "\""),
                "tokens, more than limits.response.tokens = 256"));
        return cases;
    }

    @Test
    void everyKindIsRoutedWithItsReasonOrHandledAsDocumentedAndTheStreamGoesOn(@TempDir Path state) throws Exception {
        StreamFixture fixture = StreamFixture.get();
        try (EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(new InMemorySchemaStore(), EmbeddedSchemaRegistry.Settings.loopback(0))) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            byte[] framedGood = new ConfluentAvroSerializer<LlmInteraction>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("in",
                    LlmInteraction.newBuilder().setEventId("avro").setTimestamp(Instant.ofEpochMilli(NOW)).setModel("stories260K")
                            .setPrompt("One day,").setResponse("a little girl").build());
            ValidationPolicy policy = ServiceConfig.of(Map.of("model.accept", "stories260K")).validationPolicy();
            ServiceMetrics metrics = new ServiceMetrics(new SimpleMeterRegistry());
            var topology = ExplainTopology.build(new ExplainTopology.Topics("in", "out", "dlq", new BatchPolicy(1, 100_000, 60_000)),
                    new InputDecoder(InputFormat.AUTO, ConfluentAvroDeserializer.specific(client, LlmInteraction.class)), fixture.validator(policy),
                    fixture.explainer(policy), new ConfluentAvroSerializer<>(client, SubjectNameStrategy.TOPIC_NAME, true, false), metrics,
                    Clock.systemUTC());
            Properties props = new Properties();
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "corpus");
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
            try (TopologyTestDriver driver = new TopologyTestDriver(topology, props)) {
                TestInputTopic<byte[], byte[]> input = driver.createInputTopic("in", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
                TestOutputTopic<byte[], Explanation> output = driver.createOutputTopic("out", Serdes.ByteArray().deserializer(),
                        ConfluentAvroDeserializer.specific(client, Explanation.class));
                TestOutputTopic<byte[], byte[]> dead = driver.createOutputTopic("dlq", Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer());
                Map<String, Case> corpus = corpus(framedGood);
                assertTrue(corpus.size() >= 25, "at least 25 kinds: " + corpus.size());
                input.pipeInput(new TestRecord<>("good-0".getBytes(StandardCharsets.UTF_8), good("good-0").getBytes(StandardCharsets.UTF_8),
                        new RecordHeaders(), NOW));
                assertEquals("good-0", output.readValue().getEventId());
                List<String> problems = new ArrayList<>();
                int n = 0;
                for (Map.Entry<String, Case> entry : corpus.entrySet()) {
                    String kind = entry.getKey();
                    Case bad = entry.getValue();
                    input.pipeInput(new TestRecord<>(kind.getBytes(StandardCharsets.UTF_8), bad.value(), new RecordHeaders(), NOW));
                    String outcome = observe(kind, bad, output, dead, metrics);
                    if (outcome != null) {
                        problems.add(kind + ": " + outcome);
                    }
                    String goodId = "good-" + (++n);
                    input.pipeInput(new TestRecord<>(goodId.getBytes(StandardCharsets.UTF_8), good(goodId).getBytes(StandardCharsets.UTF_8),
                            new RecordHeaders(), NOW));
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
    private static String observe(String kind, Case bad, TestOutputTopic<byte[], Explanation> output, TestOutputTopic<byte[], byte[]> dead,
            ServiceMetrics metrics) {
        String[] expected = bad.outcome().split(":", 2);
        switch (expected[0]) {
            case "dlq": {
                if (dead.isEmpty()) {
                    return "expected a dead letter, got none";
                }
                var record = dead.readRecord();
                String reason = new String(record.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8);
                if (!reason.contains(expected[1])) {
                    return "reason '" + reason + "' lacks '" + expected[1] + "'";
                }
                if (!Arrays.equals(bad.value(), record.value())) {
                    return "the dead letter does not carry the original bytes";
                }
                assertNotNull(record.headers().lastHeader(DeadLetters.OFFSET));
                return output.isEmpty() ? null : "also explained";
            }
            case "skipped":
                return dead.isEmpty() && output.isEmpty() && metrics.registry().counter("explainstream.events.skipped", "reason", expected[1]).count() == 1
                        ? null : "expected to be skipped as " + expected[1];
            default: {
                if (output.isEmpty()) {
                    return "expected an explanation";
                }
                Explanation explanation = output.readValue();
                if (expected[1].equals("truncated") && !explanation.getFlags().getPromptTruncated()) {
                    return "not flagged as truncated";
                }
                return dead.isEmpty() ? null : "also dead-lettered";
            }
        }
    }

}
