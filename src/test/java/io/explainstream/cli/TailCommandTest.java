package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.SampleExplanations;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.stream.output.DeadLetters;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@code tail} on a real broker and registry, reading explanations computed by the real engine. */
@Tag("slow")
class TailCommandTest {

    @Test
    void tailShowsTheTextOfTheRecordAndWritesOneJsonObjectPerLine() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            var serializer = new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (String id : List.of("emoji-1", "emoji-2")) {
                    producer.send(new ProducerRecord<>("explanations", id.getBytes(StandardCharsets.UTF_8),
                            serializer.serialize("explanations", SampleExplanations.emoji(id)))).get();
                }
            }
            List<String> connection = List.of("--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(),
                    "--from-beginning", "--max", "2", "--timeout", "60");

            CliRun json = CliRun.of(concat(List.of("tail", "--format", "json"), connection));
            assertEquals(0, json.exitCode(), json.err());
            List<String> lines = json.out().lines().toList();
            assertEquals(2, lines.size(), "one line per explanation:\n" + json.out());
            ObjectMapper mapper = new ObjectMapper();
            for (int i = 0; i < 2; i++) {
                JsonNode record = mapper.readTree(lines.get(i)); // each line is a JSON object on its own, as jq reads them
                assertEquals("emoji-" + (i + 1), record.get("event_id").asText());
                assertEquals("storybook", record.get("metadata").get("application").asText());
                assertTrue(record.get("seq_attr").isArray() && record.get("prompt_tokens").isArray());
            }

            CliRun text = CliRun.of(concat(List.of("tail", "--no-color"), connection));
            assertEquals(0, text.exitCode(), text.err());
            assertTrue(text.out().contains("emoji-1  → 'She loved the dog'"), text.out());
            assertTrue(text.out().lines().filter(l -> l.startsWith("emoji-")).noneMatch(l -> l.contains("<0x")), "no byte pieces in the text:\n" + text.out());

            CliRun bad = CliRun.of(concat(List.of("tail", "--format", "csv"), connection));
            assertEquals(2, bad.exitCode(), bad.err());

            // A topic that does not exist, or holds no explanations (the logged events, as JSON): one line each, exit 2.
            CliRun missing = CliRun.of(concat(List.of("tail", "--topic", "no-such-topic"), connection));
            assertEquals(2, missing.exitCode(), missing.out() + missing.err());
            assertEquals("error: --topic = no-such-topic: no such topic on " + kafka.bootstrapServers(), missing.err().strip());
            // The dashboard served a misspelt topic as an empty page for ever.
            CliRun missingOnDashboard = CliRun.of("dashboard", "--port", "0", "--topic", "no-such-topic", "--bootstrap-servers", kafka.bootstrapServers(),
                    "--registry-url", registry.url().toString());
            assertEquals(2, missingOnDashboard.exitCode(), missingOnDashboard.out() + missingOnDashboard.err());
            assertEquals("error: --topic = no-such-topic: no such topic on " + kafka.bootstrapServers(), missingOnDashboard.err().strip());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>("logged", "{\"event_id\":\"e1\"}".getBytes(StandardCharsets.UTF_8))).get();
            }
            // A record that is not an explanation is stepped over with a note, and the explanations after it are printed.
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>("explanations", "{\"event_id\":\"stray\"}".getBytes(StandardCharsets.UTF_8))).get();
                producer.send(new ProducerRecord<>("explanations", "after".getBytes(StandardCharsets.UTF_8),
                        serializer.serialize("explanations", SampleExplanations.emoji("after-stray")))).get();
            }
            CliRun pastStray = CliRun.of("tail", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(),
                    "--from-beginning", "--max", "3", "--timeout", "60", "--format", "json");
            assertEquals(0, pastStray.exitCode(), pastStray.err());
            assertEquals(List.of("emoji-1", "emoji-2", "after-stray"), pastStray.out().lines()
                    .map(line -> { try { return mapper.readTree(line).get("event_id").asText(); } catch (java.io.IOException e) { throw new AssertionError(e); } })
                    .toList());
            assertTrue(pastStray.err().startsWith("tail: skipped the record at partition 0, offset 2 of explanations: not an explanation ("),
                    pastStray.err());
            assertTrue(pastStray.err().strip().endsWith("tail: skipped 1 record of explanations that is not an explanation"), pastStray.err());
            CliRun notExplanations = CliRun.of("tail", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(),
                    "--topic", "logged", "--from-beginning", "--timeout", "3");
            assertEquals(0, notExplanations.exitCode(), notExplanations.out() + notExplanations.err());
            assertEquals("", notExplanations.out());
            assertTrue(notExplanations.err().startsWith("tail: skipped the record at partition 0, offset 0 of logged: not an explanation ("),
                    notExplanations.err());
        }
    }

    /**
     * Started before the service has created its output topic, tail says so and waits for it (by
     * asking the broker, not by a consumer subscribed to a missing topic, which warns at every
     * metadata refresh), then prints what arrives; with --timeout and no topic it ends with 0.
     */
    /**
     * Dead letters as the service writes them (DeadLetters): a JSON event with an emoji and a line
     * break in its reason, a value that is not UTF-8, one cut at the record limit inside a character,
     * and a record without headers that some other producer wrote to the topic. The README named no
     * reader for the dead-letter topic (a hostile tester wrote a consumer of their own), and the
     * embedded default ships no Kafka command-line tools.
     */
    @Test
    void tailDeadLettersPrintsEachWithItsReasonAndOriginal() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            DeadLetters letters = new DeadLetters(64);
            SourcePosition at = new SourcePosition("llm-interactions", 1, 57, 1_764_000_000_000L);
            String event = "{\"event_id\":\"e1\",\"prompt\":\"🐶 hi\"}";
            byte[] notUtf8 = {(byte) 0xC0, (byte) 0xAF, 'x'};
            byte[] longValue = ("{\"prompt\":\"" + "ü".repeat(40) + "\"}").getBytes(StandardCharsets.UTF_8);
            // 335 characters in 635 UTF-16 units, the 500th unit the first half of a 🐶
            String longReason = "field 'prompt' is not valid UTF-8: " + "🐶".repeat(300);
            List<org.apache.kafka.streams.processor.api.Record<byte[], byte[]>> written = List.of(
                    letters.record("e1".getBytes(StandardCharsets.UTF_8), event.getBytes(StandardCharsets.UTF_8), at, DeadLetters.Stage.VALIDATION,
                            new IllegalArgumentException("field 'prompt' = '🐶 hi'\nis too short"), "explainstream", 1_764_000_001_000L),
                    letters.record("bytes".getBytes(StandardCharsets.UTF_8), notUtf8, at, DeadLetters.Stage.VALIDATION,
                            new IllegalArgumentException(longReason), "explainstream", 1_764_000_002_000L),
                    letters.record("long".getBytes(StandardCharsets.UTF_8), longValue, at, DeadLetters.Stage.ATTRIBUTION,
                            new IllegalStateException("explaining 512 tokens was stopped"), "explainstream-replay-r1", 1_764_000_003_000L));
            written.get(2).headers().add(io.explainstream.stream.replay.Replay.HEADER, "r1".getBytes(StandardCharsets.UTF_8));
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (var record : written) {
                    producer.send(new ProducerRecord<>("llm-interactions-dlq", 0, record.timestamp(), record.key(), record.value(), record.headers())).get();
                }
                producer.send(new ProducerRecord<>("llm-interactions-dlq", 0, "stray".getBytes(StandardCharsets.UTF_8), new byte[0])).get();
                // Headers from whoever can write to the topic: an escape sequence in the stage, a long application, a key not UTF-8.
                org.apache.kafka.common.header.internals.RecordHeaders odd = new org.apache.kafka.common.header.internals.RecordHeaders();
                odd.add(DeadLetters.STAGE, "valid\u001b[1mation".getBytes(StandardCharsets.UTF_8));
                odd.add(DeadLetters.APPLICATION, "a".repeat(300).getBytes(StandardCharsets.UTF_8));
                producer.send(new ProducerRecord<>("llm-interactions-dlq", 0, null, new byte[] {(byte) 0xFF, 'k'}, new byte[0], odd)).get();
            }
            List<String> connection = List.of("tail", "--dead-letters", "--bootstrap-servers", kafka.bootstrapServers(), "--from-beginning", "--max", "5",
                    "--timeout", "60");

            CliRun json = CliRun.of(concat(connection, List.of("--format", "json")));
            assertEquals(0, json.exitCode(), json.err());
            List<String> lines = json.out().lines().toList();
            assertEquals(5, lines.size(), json.out());
            ObjectMapper mapper = new ObjectMapper();
            JsonNode first = mapper.readTree(lines.get(0));
            assertEquals("e1", first.get("key").asText());
            assertEquals(event, first.get("value").asText(), "the original, whole");
            assertEquals("field 'prompt' = '🐶 hi'\\u000Ais too short", first.get("reason").asText(), "as the header holds it: controls escaped");
            assertEquals("validation", first.get("stage").asText());
            assertEquals("llm-interactions", first.get("source_topic").asText());
            assertEquals(1, first.get("source_partition").asInt());
            assertEquals(57, first.get("source_offset").asLong());
            assertEquals("2025-11-24T16:00:00Z", first.get("source_timestamp").asText());
            assertEquals(1_764_000_000_000L, first.get("source_timestamp_ms").asLong());
            assertEquals(1_764_000_001_000L, first.get("failed_at_ms").asLong());
            assertEquals(0, first.get("partition").asInt());
            assertEquals("explainstream", first.get("application").asText(), "which service wrote it");
            assertTrue(first.get("replay_id").isNull());
            assertEquals(List.of(0L, 1L, 2L, 3L), lines.stream().map(line -> {
                try {
                    return mapper.readTree(line).get("offset").asLong();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList().subList(0, 4), "each dead letter's own offset");
            assertTrue(first.get("cut").isNull());
            assertTrue(first.get("original_key_bytes").isNull() && first.get("original_value_bytes").isNull());
            JsonNode bytes = mapper.readTree(lines.get(1));
            assertEquals(java.util.Base64.getEncoder().encodeToString(notUtf8), bytes.get("value_base64").asText());
            assertEquals(longReason, bytes.get("reason").asText(), "whole in JSON");
            assertFalse(bytes.has("value"));
            JsonNode cut = mapper.readTree(lines.get(2));
            assertEquals("key=4 value=" + longValue.length + " bytes", cut.get("cut").asText());
            assertEquals(4, cut.get("original_key_bytes").asLong(), "the sizes as numbers too");
            assertEquals(longValue.length, cut.get("original_value_bytes").asLong());
            assertEquals("explainstream-replay-r1", cut.get("application").asText());
            assertEquals("r1", cut.get("replay_id").asText());
            assertEquals(60, cut.get("value_bytes").asInt(), "64 bytes a record, less the key");
            assertTrue(cut.get("value").asText().startsWith("{\"prompt\":\"üü") && !cut.get("value").asText().contains("\uFFFD"),
                    "cut inside a character, read up to it: " + cut.get("value"));
            JsonNode stray = mapper.readTree(lines.get(3));
            assertEquals("stray", stray.get("key").asText());
            assertTrue(stray.get("reason").isNull() && stray.get("source_offset").isNull() && stray.get("failed_at_ms").isNull(), lines.get(3));

            CliRun text = CliRun.of(connection.toArray(String[]::new));
            assertEquals(0, text.exitCode(), text.err());
            assertTrue(text.out().startsWith("dead letter e1 · validation · llm-interactions partition 1 offset 57 · 2025-11-24T16:00:01Z"
                    + " · by explainstream\n"
                    + "  reason: field 'prompt' = '🐶 hi'\\u000Ais too short\n"
                    + "  value: " + event + " (" + event.getBytes(StandardCharsets.UTF_8).length + " bytes)\n"), text.out());
            assertTrue(text.out().contains("  value: (3 bytes, not UTF-8: c0 af 78)\n"), text.out());
            assertTrue(text.out().contains("  reason: " + longReason.substring(0, 499) + "… (335 characters; --format json gives all the header holds)\n"),
                    "a long reason is cut like the value, between characters: " + text.out());
            assertTrue(text.out().contains("dead letter (2 bytes, not UTF-8: ff 6b) · valid\\x1b[1mation · by " + "a".repeat(200) + "…\n"),
                    "headers shown with controls visible, cut at 200 characters; a key not UTF-8 in hexadecimal: " + text.out());
            assertTrue(text.out().contains(" · by explainstream-replay-r1 · replay r1\n"), text.out());
            assertTrue(text.out().contains(" (60 bytes) (cut: the original was key=4 value=" + longValue.length + " bytes;"), text.out());
            assertTrue(text.out().contains("dead letter stray · no stage\n  reason: (none given: not written by ExplainStream?)\n  value: (empty)\n"),
                    text.out());

            CliRun fromNow = CliRun.of("tail", "--dead-letters", "--bootstrap-servers", kafka.bootstrapServers(), "--timeout", "3");
            assertEquals(0, fromNow.exitCode(), fromNow.err());
            assertEquals("", fromNow.out());
            assertTrue(fromNow.err().contains("tail: waiting for new dead letters on llm-interactions-dlq; --from-beginning prints the earlier ones"),
                    fromNow.err());

            CliRun both = CliRun.of("tail", "--dead-letters", "--stats", "--bootstrap-servers", kafka.bootstrapServers());
            assertEquals(2, both.exitCode(), both.err());
            assertTrue(both.err().contains("--dead-letters prints the dead letters, --stats and --alerts the statistics topics"), both.err());
        }
    }

    /**
     * A consumer whose broker is gone polls nothing, without an error: tail printed only the Kafka
     * client's warnings through an outage, three a second, and nothing of its own (a hostile test).
     * It now says once that the cluster does not answer, and reading goes on where it was.
     */
    @Test
    void tailSaysOnceThatTheClusterStoppedAnswering() throws Exception {
        InJvmKafka kafka = InJvmKafka.start();
        boolean stopped = false;
        try (EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            kafka.createTopic("explanations", 1);
            java.util.concurrent.CompletableFuture<CliRun> tail = java.util.concurrent.CompletableFuture.supplyAsync(() -> CliRun.of("tail",
                    "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(), "--timeout", "20"));
            Thread.sleep(8_000); // tail polls the topic
            kafka.close();
            stopped = true;
            CliRun run = tail.get(90, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(0, run.exitCode(), run.err());
            String notice = "tail: the Kafka cluster at " + kafka.bootstrapServers() + " does not answer; waiting for it (reading goes on where it was"
                    + " when it answers)";
            assertEquals(1, run.err().lines().filter(notice::equals).count(), run.err());
        } finally {
            if (!stopped) {
                kafka.close();
            }
        }
    }

    @Test
    void tailStartedBeforeTheOutputTopicExistsWaitsForIt() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            List<String> connection = List.of("--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(),
                    "--from-beginning", "--max", "1", "--format", "json");
            java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
            java.io.PrintStream stderr = System.err;
            CliRun none;
            System.setErr(new java.io.PrintStream(logged, true, StandardCharsets.UTF_8)); // where the log lines go (simplelogger.properties)
            try {
                none = CliRun.of(concat(List.of("tail", "--timeout", "4"), connection));
            } finally {
                System.setErr(stderr);
            }
            assertFalse(logged.toString(StandardCharsets.UTF_8).contains("UNKNOWN_TOPIC_OR_PARTITION"), "no client warning:\n" + logged);
            assertEquals(0, none.exitCode(), none.err());
            assertEquals("tail: output.topic = explanations does not exist yet on " + kafka.bootstrapServers() + "; waiting for the service to create it",
                    none.err().strip());
            assertEquals("", none.out());

            var waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> CliRun.of(concat(List.of("tail", "--timeout", "60"), connection)));
            Thread.sleep(2_500); // tail has found no topic and waits
            assertFalse(waiting.isDone(), "still waiting");
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            var serializer = new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>("explanations", "late".getBytes(StandardCharsets.UTF_8),
                        serializer.serialize("explanations", SampleExplanations.emoji("late")))).get();
            }
            CliRun late = waiting.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(0, late.exitCode(), late.err());
            assertEquals("late", new ObjectMapper().readTree(late.out().strip()).get("event_id").asText());
        }
    }

    private static String[] concat(List<String> first, List<String> second) {
        return java.util.stream.Stream.concat(first.stream(), second.stream()).toArray(String[]::new);
    }
}
