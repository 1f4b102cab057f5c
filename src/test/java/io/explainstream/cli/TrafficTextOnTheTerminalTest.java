package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.diff.DiffRecords;
import io.explainstream.diff.DiffRecords.Seg;
import io.explainstream.diff.DiffRecords.Tok;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.replay.Replay;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Text from the traffic reaches the terminal only escaped, in every command that prints it: an
 * ESC sequence would clear or recolor the screen and a bidirectional override reorder the line.
 * The explanations here are as another producer, or an older release, could have written them:
 * the input validation that refuses such event ids and segment names today is not relied on.
 */
@Tag("slow") // starts a broker
class TrafficTextOnTheTerminalTest {

    private static final String CLEAR = "\u001b[2J";
    private static final String RLO = "\u202e";

    @Test
    void diffAndTailShowEventIdsSegmentNamesAndTokensEscaped() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            var serializer = new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
            String id = "id-" + RLO + "-" + CLEAR;
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                ProducerRecord<byte[], byte[]> replayed = new ProducerRecord<>("t-replay", null, bytes(id),
                        serializer.serialize("t-replay", explanation(id, 0.7)));
                replayed.headers().add(new RecordHeader(Replay.HEADER, bytes("r")));
                producer.send(replayed);
                producer.send(new ProducerRecord<>("t-live", bytes(id), serializer.serialize("t-live", explanation(id, 0.2)))).get();
            }
            List<String> connection = List.of("--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString());

            CliRun diff = CliRun.of(concat(List.of("diff", "--replay-id", "r", "--replay-topic", "t-replay", "--against", "t-live"), connection));
            assertEquals(0, diff.exitCode(), diff.err());
            assertShownEscaped(diff.out());
            assertTrue(diff.out().contains("share \\x1b[2Jdoc"), diff.out());
            assertTrue(diff.out().contains("id-\\u202e-\\x1b[2J"), diff.out());
            assertTrue(diff.out().contains("\\x1b[31mred"), "a top token: " + diff.out());

            CliRun tail = CliRun.of(concat(List.of("tail", "--topic", "t-live", "--from-beginning", "--max", "1", "--timeout", "30", "--no-color"),
                    connection));
            assertEquals(0, tail.exitCode(), tail.err());
            assertShownEscaped(tail.out());
            assertTrue(tail.out().contains("segments: \\u202ecod 80% · \\x1b[2Jdoc 20%"), tail.out());
        }
    }

    private static void assertShownEscaped(String out) {
        assertTrue(out.chars().noneMatch(c -> c == 0x1b || c == 0x202e), "raw ESC or U+202E in:\n" + out);
    }

    /** One event whose top token, segments and id carry an ESC sequence and a right-to-left override; the shares differ by side. */
    private static Explanation explanation(String id, double docShare) {
        List<Tok> tokens = List.of(new Tok(1, "<s>", 0, 0, false, 0), new Tok(300, "▁" + "\u001b[31mred", 0, 9, true, 0),
                new Tok(301, "▁ball", 9, 14, true, 1));
        Explanation explanation = DiffRecords.explanation(id, tokens, new double[] {0, docShare, 1 - docShare}, new int[] {1, 2, 3},
                List.of(new Seg(CLEAR + "doc", docShare), new Seg(RLO + "cod", 1 - docShare)), CLEAR + "doc", 0.001, List.of(-1.5));
        explanation.getSegments().forEach(segment -> segment.setTokens(1)); // tail lists the segments that hold tokens
        return explanation;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String[] concat(List<String> first, List<String> second) {
        return java.util.stream.Stream.concat(first.stream(), second.stream()).toArray(String[]::new);
    }
}
