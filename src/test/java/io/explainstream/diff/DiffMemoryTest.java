package io.explainstream.diff;

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
import io.explainstream.diff.DiffRecords.Seg;
import io.explainstream.diff.DiffRecords.Tok;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.replay.Replay;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 20,000 events on each side, diffed by the command line in a JVM of its own with a 256 MB heap:
 * the spill-to-disk join keeps one bucket in memory, so it finishes, joins every event and finds
 * the ones present on one side only. The GC log gives the largest heap in use.
 */
@RunsBeside
@Tag("slow")
class DiffMemoryTest {

    private static final int EVENTS = 20_000;
    private static final int LIVE_ONLY = 5;

    @Test
    void twentyThousandEventsDiffInA256MbHeap(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            ConfluentAvroSerializer<Explanation> serializer = new ConfluentAvroSerializer<>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of("linger.ms", "20", "batch.size", "262144"))) {
                for (int i = 0; i < EVENTS + LIVE_ONLY; i++) {
                    String id = "ev-" + i;
                    if (i < EVENTS) {
                        ProducerRecord<byte[], byte[]> replayed = new ProducerRecord<>("mem-replay", null, bytes(id),
                                serializer.serialize("mem-replay", event(id, i, 0.25)));
                        replayed.headers().add(new RecordHeader(Replay.HEADER, bytes("r-mem")));
                        producer.send(replayed);
                    }
                    producer.send(new ProducerRecord<>("mem-live", bytes(id), serializer.serialize("mem-live", event(id, i, 0))));
                }
            }
            Path report = dir.resolve("diff.json");
            Path gc = dir.resolve("gc.log");
            long started = System.nanoTime();
            try (ServiceProcess child = ServiceProcess.start(List.of("diff", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url",
                    registry.url().toString(), "--replay-id", "r-mem", "--replay-topic", "mem-replay", "--against", "mem-live", "--format", "json",
                    "--out", report.toString()), List.of("-Xmx256m", "-Xlog:gc:file=" + gc, "-Djava.io.tmpdir=" + dir), Map.of(), dir.resolve("diff.log"),
                    Duration.ofMinutes(6))) {
                assertTrue(child.process().waitFor(5, TimeUnit.MINUTES), "finished: " + child.output());
                assertEquals(0, child.process().exitValue(), child.output());
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            JsonNode json = new ObjectMapper().readTree(Files.readString(report));
            assertEquals(EVENTS, json.get("joined").asInt());
            assertEquals(0, json.get("replay_only").asInt());
            assertEquals(LIVE_ONLY, json.get("against_only").asInt());
            // Every 4th event's scores were reshuffled by the replay: a quarter change, the rest do not.
            assertEquals(1.0, json.at("/distributions/*/top_k_jaccard/p50").asDouble(), 0.01);
            assertTrue(json.at("/distributions/*/top_k_jaccard/p10").asDouble() < 1, json.toString());
            System.out.printf("20,000 events per side diffed in %.1f s (child JVM, -Xmx256m); heap before / after GC at most %s MB%n", seconds, peakHeapMb(gc));

            // Interrupted while it spills (SIGTERM, as Ctrl-C): its spill folder goes with it. It spills under state.dir.
            Path spillRoot = dir.resolve("state");
            Map<String, String> environment = Map.of("EXPLAINSTREAM_STATE_DIR", spillRoot.toString());
            List<String> args = List.of("diff", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString(),
                    "--replay-id", "r-mem", "--replay-topic", "mem-replay", "--against", "mem-live", "--format", "json", "--out",
                    dir.resolve("again.json").toString());
            try (ServiceProcess child = ServiceProcess.start(args, List.of("-Xmx256m"), environment, dir.resolve("stopped.log"),
                    Duration.ofMinutes(3))) {
                awaitSpilling(spillRoot, child);
                child.process().destroy();
                assertTrue(child.process().waitFor(60, TimeUnit.SECONDS), "stopped");
                assertEquals(List.of(), spillFolders(spillRoot), "an interrupted diff leaves no spilled records: " + child.output());
                // ... and says so, exit 3 as replay and send (it ended with 143 and no word).
                assertEquals(3, child.process().exitValue(), child.output());
                assertTrue(child.output().contains("diff r-mem stopped: no report written\n") && !child.output().contains("Exception"), child.output());
                assertFalse(Files.exists(dir.resolve("again.json")), "no report");
            }
            // Killed outright (SIGKILL), a diff leaves its folder to the next one: ScratchFolderTest.
        }
    }

    private static List<Path> spillFolders(Path root) throws java.io.IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (var folders = Files.list(root)) {
            return folders.toList();
        }
    }

    /** Until a spill file of the child holds records. */
    private static void awaitSpilling(Path root, ServiceProcess child) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            for (Path folder : spillFolders(root)) {
                try (var files = Files.list(folder)) {
                    if (files.anyMatch(f -> f.toFile().length() > 0 && !f.getFileName().toString().startsWith("."))) {
                        return;
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    // deleted between the listing and the look inside
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the diff never spilled: " + child.output());
    }

    /**
     * Buckets over the budget are split again, recursively, and every event still joins with its
     * own; a record that is not an Explanation and a duplicate are counted, not joined. Dead letters
     * are split with them: every 10th event the replay dead-lettered instead of explaining it is on
     * the live side only with the replay's reason, 200 more dead-lettered on both sides are explained
     * on neither, a live dead letter of an event the live service also explained is no dead letter
     * of it, and one without a key is counted.
     */
    @Test
    void bucketsOverTheBudgetAreSplitAndEveryEventStillJoinsItsOwn(@TempDir Path dir) throws Exception {
        int events = 3000;
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            ConfluentAvroSerializer<Explanation> serializer = new ConfluentAvroSerializer<>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of("linger.ms", "20"))) {
                for (int i = 0; i < events; i++) {
                    String id = "ev-" + i;
                    ProducerRecord<byte[], byte[]> replayed = new ProducerRecord<>("split-replay", null, bytes(id),
                            serializer.serialize("split-replay", event(id, i, 0.25)));
                    replayed.headers().add(new RecordHeader(Replay.HEADER, bytes("r")));
                    producer.send(i % 10 == 9 ? deadLetter("split-replay-dlq", id, "r", "prompt too long " + i) : replayed);
                    producer.send(new ProducerRecord<>("split-live", bytes(id), serializer.serialize("split-live", event(id, i, 0))));
                }
                for (int k = 0; k < 200; k++) {
                    producer.send(deadLetter("split-replay-dlq", "both-" + k, "r", "no prompt"));
                    producer.send(deadLetter("split-live-dlq", "both-" + k, null, "no prompt"));
                }
                producer.send(deadLetter("split-live-dlq", "ev-3", null, "an attempt before the one that explained it"));
                producer.send(deadLetter("split-live-dlq", "both-0", null, "no prompt")); // a second event logged with that id (helper-78)
                producer.send(deadLetter("split-live-dlq", null, null, "no event id"));
                producer.send(new ProducerRecord<>("split-live", bytes("ev-7"), serializer.serialize("split-live", event("ev-7", 7, 0))));
                producer.send(new ProducerRecord<>("split-live", bytes("not-avro"), bytes("{\"event_id\":\"not-avro\"}")));
            }
            Files.createDirectories(dir.resolve("spill"));
            SpillJoin join = new SpillJoin(kafka.clientSettings(), client, dir.resolve("spill"), Long.MIN_VALUE, Long.MAX_VALUE, Map.of(), 16 * 1024);
            java.util.concurrent.atomic.AtomicInteger joined = new java.util.concurrent.atomic.AtomicInteger();
            java.util.Set<String> seen = new java.util.HashSet<>();
            java.util.Map<String, String> refusedByReplay = new java.util.HashMap<>();
            java.util.Set<String> neither = new java.util.HashSet<>();
            SpillJoin.Counts counts = join.run(new Side("--replay-id", "split-replay", "r", "split-replay-dlq"),
                    new Side("--against", "split-live", null, "split-live-dlq"), new SpillJoin.Pairs() {
                        @Override
                        public void joined(Explanation replay, Explanation against) {
                            assertEquals(replay.getEventId(), against.getEventId());
                            assertTrue(seen.add(replay.getEventId()), "once: " + replay.getEventId());
                            joined.incrementAndGet();
                        }

                        @Override
                        public void replayOnly(String eventId, String againstDeadLetter) {
                            throw new AssertionError("replay only: " + eventId);
                        }

                        @Override
                        public void againstOnly(String eventId, String replayDeadLetter) {
                            assertTrue(refusedByReplay.put(eventId, String.valueOf(replayDeadLetter)) == null, "once: " + eventId);
                        }

                        @Override
                        public void deadLetteredOnly(String eventId, String replayDeadLetter, String againstDeadLetter) {
                            assertEquals("validation: no prompt", replayDeadLetter, eventId);
                            assertEquals("validation: no prompt", againstDeadLetter, eventId);
                            assertTrue(neither.add(eventId), "once: " + eventId);
                        }
                    }, (phase, done, total) -> { });
            assertEquals(events - events / 10, joined.get());
            assertEquals(events / 10, refusedByReplay.size());
            refusedByReplay.forEach((id, reason) -> assertEquals("validation: prompt too long " + id.substring(3), reason, id));
            assertEquals(200, neither.size());
            assertEquals(new SpillJoin.DeadLetters("split-replay-dlq", null, events / 10 + 200, 0), counts.replayDeadLetters());
            assertEquals(new SpillJoin.DeadLetters("split-live-dlq", null, 202, 1), counts.againstDeadLetters());
            assertEquals(2, counts.duplicates(), "ev-7 twice on the live side, and both-0's dead letter");
            assertEquals(1, counts.notExplanations());
            assertTrue(counts.firstNotExplanation().contains("not in Confluent's wire format"), counts.firstNotExplanation());
            assertTrue(join.splits() > 3, "buckets were split: " + join.splits());
            try (var left = Files.list(dir.resolve("spill"))) {
                assertEquals(0, left.count(), "every spill file deleted once joined");
            }
        }
    }

    /** A dead letter as the service writes it: the input's key, its stage and reason, a replay's id. */
    private static ProducerRecord<byte[], byte[]> deadLetter(String topic, String key, String replayId, String reason) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key == null ? null : bytes(key), bytes("{}"));
        record.headers().add(new RecordHeader(io.explainstream.stream.output.DeadLetters.REASON, bytes(reason)));
        record.headers().add(new RecordHeader(io.explainstream.stream.output.DeadLetters.STAGE, bytes("validation")));
        if (replayId != null) {
            record.headers().add(new RecordHeader(Replay.HEADER, bytes(replayId)));
        }
        return record;
    }

    /** A 12-token prompt; {@code shuffle} > 0 reverses the scores of every 4th event, so the replay differs there. */
    private static Explanation event(String id, int i, double shuffle) {
        List<Tok> tokens = new ArrayList<>();
        double[] scores = new double[12];
        int[] wordEnds = new int[12];
        tokens.add(new Tok(1, "<s>", 0, 0, false, 0));
        wordEnds[0] = 1;
        for (int t = 1; t < 12; t++) {
            tokens.add(new Tok(300 + t, "▁w" + t, 3 * t, 3 * t + 2, true, 0));
            boolean changed = shuffle > 0 && i % 4 == 0;
            scores[t] = (changed ? 12 - t : t) * 0.01 * (1 + (i % 7));
            wordEnds[t] = t + 1;
        }
        return DiffRecords.explanation(id, tokens, scores, wordEnds, List.of(new Seg("prompt", 1.0)), "prompt", 0.001 * (i % 3),
                List.of(-1.0, -0.5));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The largest heap before and after the GC log's pauses ("... 45M->12M(256M) ..."), in MB: "before / after". */
    private static String peakHeapMb(Path gcLog) throws java.io.IOException {
        Matcher m = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)").matcher(Files.readString(gcLog));
        long before = 0;
        long after = 0;
        while (m.find()) {
            before = Math.max(before, Long.parseLong(m.group(1)));
            after = Math.max(after, Long.parseLong(m.group(2)));
        }
        return before + " / " + after;
    }
}
