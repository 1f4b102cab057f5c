package io.explainstream.stream.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.model.Checkpoint;
import io.explainstream.model.LlamaConfig;
import io.explainstream.model.RandomCheckpoint;
import io.explainstream.model.RopeScaling;
import io.explainstream.model.TensorDtype;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.TimeSpec;
import io.explainstream.stream.replay.Replay;
import io.explainstream.stream.replay.ReplayLedger;
import io.explainstream.stream.replay.ReplayPlan;
import io.explainstream.stream.replay.ReplayTerms;
import io.explainstream.stream.replay.ReplayRecord;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Replays on a real in-JVM broker: three days of events on three partitions. */
@Tag("slow")
@RunsBeside
class ReplayTest {

    private static final String TOPIC = "history";
    private static final Instant DAY1 = Instant.now().minus(Duration.ofDays(3)).truncatedTo(java.time.temporal.ChronoUnit.DAYS);
    private static final Instant DAY2 = DAY1.plus(Duration.ofDays(1));
    private static final Instant DAY3 = DAY2.plus(Duration.ofDays(1));
    private static final int PER_DAY = 12;
    @RegisterExtension
    static final BuiltInRegistry REGISTRY = new BuiltInRegistry();
    private static InJvmKafka kafka;
    /** event id → (partition, timestamp) as produced. */
    private static final Map<String, long[]> PRODUCED = new HashMap<>();

    @TempDir
    Path state;

    @BeforeAll
    static void produceThreeDays() throws Exception {
        kafka = InJvmKafka.start(InJvmKafka.RETENTION_RUNS);
        kafka.createTopic(TOPIC, 3);
        try (KafkaProducer<String, String> producer = producer()) {
            for (Instant day : List.of(DAY1, DAY2, DAY3)) {
                for (int i = 0; i < PER_DAY; i++) {
                    long timestamp = day.plus(Duration.ofHours(2 * i)).toEpochMilli();
                    String id = "d" + (Duration.between(DAY1, day).toDays() + 1) + "-" + i;
                    int partition = i % 3;
                    String value = event(id, timestamp, "One day, " + id, "a little girl named Lily");
                    producer.send(new ProducerRecord<>(TOPIC, partition, timestamp, id, value)).get();
                    PRODUCED.put(id, new long[] {partition, timestamp});
                }
            }
        }
    }

    private static KafkaProducer<String, String> producer() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    /** A logged interaction of the bundled model as JSON. */
    private static String event(String id, long timestamp, String prompt, String response) {
        return "{\"event_id\":\"" + id + "\",\"timestamp\":" + timestamp + ",\"model\":\"stories260K\",\"prompt\":\"" + prompt
                + "\",\"response\":\"" + response + "\"}";
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    private ServiceConfig base(String applicationId) {
        Map<String, String> values = new HashMap<>();
        values.put("bootstrap.servers", kafka.bootstrapServers());
        values.put("application.id", applicationId);
        values.put("state.dir", state.toString());
        values.put("schema.registry.url", REGISTRY.url().toString());
        values.put("input.topic", TOPIC);
        values.put("attribution.steps", "4");
        values.put("batch.max.events", "4");
        values.put("batch.max.wait.ms", "200");
        values.put("ops.port", "-1");
        return ServiceConfig.of(values);
    }

    private static Set<String> idsIn(Replay replay) {
        Set<String> ids = new HashSet<>();
        PRODUCED.forEach((id, at) -> {
            if (replay.includes(at[1])) {
                ids.add(id);
            }
        });
        return ids;
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
        return kafka.readCommitted(topic, records -> records.size() >= expected, Duration.ofSeconds(20));
    }

    private static Map<TopicPartition, OffsetAndMetadata> offsets(String group) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void replayingOneDayExplainsExactlyThatDayAndLeavesTheLiveOffsetsAlone() throws Exception {
        // the live service's group, as it would have committed
        Map<TopicPartition, OffsetAndMetadata> live = new HashMap<>();
        for (int p = 0; p < 3; p++) {
            live.put(new TopicPartition(TOPIC, p), new OffsetAndMetadata(5));
        }
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets("live", live).all().get(30, TimeUnit.SECONDS);
        }
        Replay replay = new Replay("day2", DAY2.toEpochMilli(), DAY3.toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("live"), replay, null, "replayed-day2");
        assertEquals("live-replay-day2", config.streamsProperties().getProperty("application.id"));

        Map<Integer, Long> dryRun = ReplayRunner.plan(config, replay).countEvents(replay);
        assertEquals(Map.of(0, 4L, 1, 4L, 2, 4L), dryRun, "--dry-run counts the day's events per partition");

        List<long[]> progress = new ArrayList<>();
        ReplayRunner.Outcome outcome = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> progress.add(new long[] {d, t}),
                () -> false, Clock.systemUTC());
        assertTrue(outcome.finished(), "stops by itself");
        assertFalse(outcome.resumed());
        assertArrayEquals(new long[] {PER_DAY, PER_DAY}, progress.get(progress.size() - 1), "the bar ends full");
        List<ConsumerRecord<byte[], byte[]>> out = readAll("replayed-day2", PER_DAY);
        SchemaRegistryClient client = REGISTRY.client();
        var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
        List<String> ids = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : out) {
            Explanation explanation = deserializer.deserialize(record.topic(), record.value());
            ids.add(explanation.getEventId());
            assertEquals("day2", explanation.getReplayId());
            assertEquals("day2", new String(record.headers().lastHeader(Replay.HEADER).value(), StandardCharsets.UTF_8));
        }
        assertEquals(idsIn(replay), new HashSet<>(ids), "exactly the events of day 2");
        assertEquals(ids.size(), new HashSet<>(ids).size(), "each once");
        assertEquals(live, offsets("live"), "the live application's committed offsets are unchanged");
    }

    /**
     * A run stopped before it read anything (the replay command failed on ops.port after recording
     * the terms, say) leaves nothing to resume: the next run starts, and does not say "(resumed)"
     * of a replay that had not begun (helper-78).
     */
    @Test
    void aRunStoppedBeforeReadingAnythingLeavesNothingToResume() throws Exception {
        Replay replay = new Replay("stopped-at-once", DAY3.toEpochMilli(), DAY3.plus(Duration.ofDays(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream"), replay, null, "stopped-at-once-out");
        ReplayRunner.Outcome first = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> true, Clock.systemUTC());
        assertFalse(first.finished());
        assertEquals(0, first.explained() + first.deadLettered() + first.skipped(), "stopped before it read a record");
        ReplayRunner.Outcome second = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(second.finished());
        assertFalse(second.resumed(), "nothing was read before: a start, not a resume");
        assertEquals(PER_DAY, second.explained());
    }

    @Test
    void anInterruptedReplayResumesAndExplainsEachEventOnce() throws Exception {
        Replay replay = new Replay("resume", DAY1.toEpochMilli(), DAY3.toEpochMilli());
        // One event per transaction, at more steps: the replay takes seconds, so that the runner's
        // checks (every 0.5 s) see it part done. At 4 events and 4 steps a batch, it was once all
        // done by the first check that saw an outcome, and the interruption came too late.
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("batch.max.events", "1", "attribution.steps", "16")), replay,
                null, "replayed-resume");
        AtomicInteger reports = new AtomicInteger();
        ReplayRunner.Outcome first = ReplayRunner.run(config, TestData.repo(), replay, false, (done, total, before, seconds) -> {
            if (done > 0) {
                reports.incrementAndGet();
            }
        }, () -> reports.get() >= 1, Clock.systemUTC());
        assertFalse(first.finished(), "interrupted once some records were done");
        ReplayRunner.Outcome second = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(second.finished());
        assertTrue(second.resumed(), "the second run continues from the committed offsets");
        List<ConsumerRecord<byte[], byte[]>> out = readAll("replayed-resume", 2 * PER_DAY);
        Map<String, Integer> counts = new HashMap<>();
        out.forEach(record -> counts.merge(new String(record.key(), StandardCharsets.UTF_8), 1, Integer::sum));
        assertEquals(idsIn(replay), counts.keySet());
        assertTrue(counts.values().stream().allMatch(c -> c == 1), "no duplicates: " + counts);
    }

    @Test
    void aReplayWithAnotherModelWritesThatModelsIdAndFingerprint(@TempDir Path models) throws Exception {
        Path other = models.resolve("tiny-random");
        RandomCheckpoint.write(new LlamaConfig(32, 64, 4, 2, 8, 1, 512, 256, 1e-5, 10000.0, RopeScaling.NONE, true, 1, 2, -1),
                TestData.stories260K(), 5, TensorDtype.F32, 1, other);
        Replay replay = new Replay("other-model", DAY3.toEpochMilli(), DAY3.plus(Duration.ofDays(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("model.dir", other.toString())), replay, null,
                "replayed-other");
        assertTrue(ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        SchemaRegistryClient client = REGISTRY.client();
        var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
        List<ConsumerRecord<byte[], byte[]>> out = readAll("replayed-other", PER_DAY);
        assertEquals(PER_DAY, out.size());
        String fingerprint = Checkpoint.open(other).fingerprint();
        assertNotEquals(Checkpoint.open(TestData.stories260K()).fingerprint(), fingerprint);
        for (ConsumerRecord<byte[], byte[]> record : out) {
            Explanation explanation = deserializer.deserialize(record.topic(), record.value());
            assertEquals("tiny-random", explanation.getModelId());
            assertEquals(fingerprint, explanation.getModelFingerprint());
        }
    }

    /** 300 events on three partitions within one hour, a day ago; the event ids, by partition. */
    private static List<String> produceBusyHour(String topic, Instant hour, int partitions) throws Exception {
        return produceHour(topic, hour, partitions, 300);
    }

    /** {@code events} events on the partitions, ten seconds apart from {@code hour}; their ids. */
    private static List<String> produceHour(String topic, Instant hour, int partitions, int events) throws Exception {
        kafka.createTopic(topic, partitions);
        List<String> ids = new ArrayList<>();
        try (KafkaProducer<String, String> producer = producer()) {
            for (int i = 0; i < events; i++) {
                long timestamp = hour.toEpochMilli() + i * 10_000L;
                String id = topic + "-" + i;
                String value = event(id, timestamp, "One day, " + i, "a little girl");
                producer.send(new ProducerRecord<>(topic, i % partitions, timestamp, id, value));
                ids.add(id);
            }
        }
        return ids;
    }

    private static Map<String, Integer> explainedOnce(String topic, int expected) {
        Map<String, Integer> counts = new HashMap<>();
        readAll(topic, expected).forEach(record -> counts.merge(new String(record.key(), StandardCharsets.UTF_8), 1, Integer::sum));
        return counts;
    }

    @Test
    void everyReplayOfABusyHourExplainsAllOfItsEventsBeforeItSaysFinished() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        List<String> ids = produceBusyHour("busy", hour, 3);
        for (int run = 0; run < 3; run++) {
            Replay replay = new Replay("busy-" + run, hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
            ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "busy")), replay, null, "busy-out-" + run);
            ReplayRunner.Outcome outcome = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
            assertTrue(outcome.finished(), "run " + run);
            assertEquals(300, outcome.explained(), "run " + run + " says it explained every event");
            assertEquals(300, outcome.eventsInRange());
            Map<String, Integer> counts = explainedOnce("busy-out-" + run, 300);
            assertEquals(new HashSet<>(ids), counts.keySet(), "run " + run + ": every event of the hour is on the output when the replay ends");
            assertTrue(counts.values().stream().allMatch(c -> c == 1), "each once");
        }
        Replay replay = new Replay("busy-resumed", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "busy")), replay, null, "busy-resumed");
        ReplayRunner.Outcome first = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> kafka != null
                && ReplayTest.committed(config) >= 100, Clock.systemUTC());
        assertFalse(first.finished(), "interrupted after about a third");
        // Events of the hour logged while the replay is stopped are not part of it: it reads what its
        // first plan read, as an uninterrupted twin does (it re-planned to the end offsets and explained them).
        try (KafkaProducer<String, String> producer = producer()) {
            for (int p = 0; p < 3; p++) {
                long timestamp = hour.toEpochMilli() + Duration.ofMinutes(30).toMillis();
                producer.send(new ProducerRecord<>("busy", p, timestamp, "late-" + p, event("late-" + p, timestamp, "One day,", "a girl"))).get();
            }
        }
        ReplayRunner.Outcome second = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(second.finished() && second.resumed());
        assertEquals(300, second.explained(), "the counts carry over the interruption");
        assertEquals(300, ReplayRunner.admit(config, TestData.repo(), replay, ReplayRunner.plan(config, replay)).plan().countEvents(replay).values()
                .stream().mapToLong(Long::longValue).sum(),
                "--dry-run of the replay id counts what it replays");
        assertEquals(303, ReplayRunner.plan(config, replay).countEvents(replay).values().stream().mapToLong(Long::longValue).sum(),
                "a new plan of the hour has the late events");
        Map<String, Integer> counts = explainedOnce("busy-resumed", 300);
        assertEquals(new HashSet<>(ids), counts.keySet());
        assertTrue(counts.values().stream().allMatch(c -> c == 1), "no duplicates: " + counts);
    }

    /**
     * A replay of a topic with a few hundred partitions records its terms and offsets. (Kept as an
     * offset's metadata, which a broker bounds (offset.metadata.max.bytes, 4096 bytes by default),
     * the terms with every partition's start offset could not be recorded, and it did not start.)
     */
    @Test
    void aReplayOfATopicWithHundredsOfPartitionsRecordsItsTerms() throws Exception {
        kafka.createTopic("wide", 600);
        Instant hour = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>("wide", 599, hour.toEpochMilli(), "wide-0", event("wide-0", hour.toEpochMilli(), "One day,", "a girl"))).get();
        }
        Replay replay = new Replay("wide", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "wide")), replay, null, "wide-out");
        ReplayPlan plan = ReplayRunner.plan(config, replay);
        ReplayPlan.Admission admitted = ReplayRunner.admit(config, TestData.repo(), replay, plan);
        assertTrue(admitted.fresh());
        try (ReplayLedger ledger = new ReplayLedger(Map.of("bootstrap.servers", kafka.bootstrapServers()), ReplayLedger.topicOf("explainstream"), (short) -1)) {
            plan.prepare(ReplayRunner.group(config), replay.id(), admitted, ledger);
        }
        ReplayRecord recorded = ReplayRunner.recorded(base("explainstream"), "wide").orElseThrow();
        assertEquals(admitted.record().terms(), recorded.terms(), "recorded, start offsets and all");
        assertEquals(600, recorded.stopOffsets().size());
        assertEquals(1L, recorded.stopOffsets().get(599));
        assertEquals(java.util.OptionalLong.of(Duration.ofHours(1).toMillis()), recorded.inputAheadMs(),
                "the input's bound ahead when it was planned (Kafka 4's default), for diff's look-back");
        assertFalse(ReplayRunner.admit(config, TestData.repo(), replay, plan).fresh(), "and resumed with them");
    }

    /**
     * Kafka deletes the offsets of a consumer group with no members after offsets.retention.minutes
     * (7 days by default), and a deleted topic's at once. A replay stopped for longer lost its terms,
     * stop offsets and progress with them: a rerun took other settings, read events logged since,
     * and explained its events again. Here the groups are deleted as the brokers' expiry deletes
     * them (the group coordinator drops an expired group's offsets, and the group with them).
     */
    @Test
    void aReplayWhoseConsumerGroupsAreDeletedResumesUnderItsTermsFromWhereItStopped() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        List<String> ids = produceHour("expiring", hour, 3, 30);
        Replay replay = new Replay("expired", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "expiring", "batch.max.events", "1",
                "attribution.steps", "16")), replay, null, "expired-out");
        ReplayRunner.Outcome first = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> kafka != null
                && ReplayTest.committed(config) >= 6, Clock.systemUTC());
        assertFalse(first.finished(), "interrupted part way");
        deleteGroupsOf(ReplayRunner.group(config));
        try (KafkaProducer<String, String> producer = producer()) {
            long timestamp = hour.toEpochMilli() + Duration.ofMinutes(30).toMillis();
            producer.send(new ProducerRecord<>("expiring", 0, timestamp, "expiring-late", event("expiring-late", timestamp, "One day,", "a girl"))).get();
        }
        ServiceConfig otherSteps = config.with(Map.of("attribution.steps", "8"));
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(otherSteps, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertTrue(refused.getMessage().contains("attribution.steps = '16'; this run: '8'"), refused.getMessage());
        assertEquals(30, ReplayRunner.admit(config, TestData.repo(), replay, ReplayRunner.plan(config, replay)).plan().countEvents(replay).values()
                .stream().mapToLong(Long::longValue).sum(), "--dry-run counts the first plan's events, not the one logged since");
        ReplayRunner.Outcome second = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(second.finished() && second.resumed(), "resumed, not started afresh");
        assertEquals(30, second.eventsInRange(), "each event of the range counted once");
        Map<String, Integer> counts = explainedOnce("expired-out", 30);
        assertEquals(new HashSet<>(ids), counts.keySet(), "the first plan's events, not the one logged since");
        assertTrue(counts.values().stream().allMatch(c -> c == 1), "none explained twice: " + counts);

        // The input topic deleted: its offsets go with it; the record keeps the terms diff reads.
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.deleteTopics(List.of("expiring")).all().get(30, TimeUnit.SECONDS);
        }
        assertEquals("expired-out", ReplayRunner.recordedTerms(base("explainstream"), "expired").orElseThrow().outputTopic());
    }

    /**
     * A replay interrupted with records left to read, whose input topic is then deleted and made
     * again empty (a producer's auto-creation, or by hand): resumed, it waited for ever for the
     * offsets of the deleted topic (a hostile test). It is refused, naming the partition, and the
     * plan's own look at the topic does not make a deleted topic again.
     */
    @Test
    void aReplayWhoseInputTopicWasDeletedAndMadeAgainIsRefusedRatherThanWaitingForEver() throws Exception {
        Interrupted interrupted = interrupted("remade", 3);
        Replay replay = interrupted.replay();
        ServiceConfig config = interrupted.config();
        ReplayRecord saved = ReplayRunner.recorded(base("explainstream"), "remade").orElseThrow();
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>(ReplayLedger.topicOf("explainstream"), 0, "remade", saved.withDone(Map.of(0, 3L)).encode())).get();
        }
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.deleteTopics(List.of("remade")).all().get(30, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains("remade") && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
        }
        ConfigException missing = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ReplayRunner.plan(config, replay));
        assertTrue(missing.getMessage().contains("no such topic"), missing.getMessage());
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            assertFalse(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains("remade"), "the plan's look did not make the topic again");
        }
        kafka.createTopic("remade", 1);
        // The new topic reaches a new consumer's metadata a moment after it is made (under load, after the run's plan looked).
        long visible = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < visible) {
            try {
                ReplayRunner.plan(config, replay);
                break;
            } catch (ConfigException notYet) {
                Thread.sleep(100);
            }
        }
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertEquals("--replay-id = remade: its input topic remade no longer holds the rest of its range (partition 0 ends at offset 0, the range at 30):"
                + " the topic was deleted and made again since it ran, and those records are gone. Give another --replay-id to replay what the topic"
                + " holds now", refused.getMessage());
    }

    /**
     * A replay whose record is gone (the replays topic deleted, the record tombstoned) while its
     * group keeps its offsets: the terms it ran with cannot be checked, so a rerun is refused,
     * where it resumed under the rerun's terms (a hostile test: one id with 250 explanations at 24
     * steps and 359 at 16).
     */
    @Test
    void aReplayWhoseRecordIsGoneButWhoseOffsetsAreNotIsRefusedRatherThanMixingTerms() throws Exception {
        Interrupted interrupted = interrupted("unrecorded", 6);
        Replay replay = interrupted.replay();
        ServiceConfig config = interrupted.config();
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>(ReplayLedger.topicOf("explainstream"), 0, "unrecorded", null)).get();
        }
        for (ServiceConfig rerun : List.of(config.with(Map.of("attribution.steps", "8")), config)) {
            ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                    () -> ReplayRunner.run(rerun, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
            assertEquals("--replay-id = unrecorded has run before (its consumer group " + ReplayRunner.group(config) + " has committed offsets), but its"
                    + " record on explainstream-replays is gone (the topic deleted, or the record removed), so the terms it ran with cannot be checked,"
                    + " and resumed under other terms it would mix two kinds of explanation under one id. Give another --replay-id", refused.getMessage());
        }
    }

    /**
     * A replay killed (SIGKILL) a few seconds after its record's last save, then left past the
     * offsets' expiry: the record says it had read less than its last commit did. Resumed from
     * there, it reads those records again; the outcome store, committed with the offsets, knows
     * they were read, so none is explained or counted twice (a hostile test saw 38 of 1,030 events
     * explained twice and "1068 events in range").
     */
    @Test
    void aReplayResumedFromAnOlderRecordThanItsLastCommitExplainsNothingTwice() throws Exception {
        Interrupted interrupted = interrupted("killed", 12);
        List<String> ids = interrupted.ids();
        Replay replay = interrupted.replay();
        ServiceConfig config = interrupted.config();
        ReplayRunner.Outcome first = interrupted.first();
        // The interrupted line's counts are those the close committed: read before it, they missed its last batch.
        assertEquals(first.explained(), readAll("killed-out", (int) first.explained()).size(), "the interrupted line counts what was written");
        long committed = ReplayTest.committed(config);
        // What a kill leaves: the record's last save, seconds before the last commit.
        ReplayRecord saved = ReplayRunner.recorded(base("explainstream"), "killed").orElseThrow();
        ReplayRecord older = saved.withDone(Map.of(0, 3L));
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>(ReplayLedger.topicOf("explainstream"), 0, "killed", older.encode())).get();
        }
        deleteGroupsOf(ReplayRunner.group(config));
        ReplayRunner.Outcome second = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(second.finished() && second.resumed(), "resumed");
        assertEquals(30, second.explained() + second.deadLettered() + second.skipped(), "the counts add up to the events in range, after "
                + committed + " committed and the record at 3");
        Map<String, Integer> counts = explainedOnce("killed-out", 30);
        assertEquals(new HashSet<>(ids), counts.keySet());
        assertTrue(counts.values().stream().allMatch(c -> c == 1), "none explained twice: " + counts);
    }

    /**
     * The same replay id started twice at once (two terminals, two hosts): the runs shared the
     * consumer group and split its partitions, and each counted only its own (a hostile test: one
     * said "finished: 70 events in range" of 200, the other "(resumed)"). The second is refused
     * while the first runs. (A stopped replay resumes as anInterruptedReplayResumesAndExplainsEachEventOnce shows.)
     */
    @Test
    void aReplayIdRunningElsewhereIsRefusedRatherThanSplitBetweenTwoRuns() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        produceHour("twice", hour, 3, 60);
        Replay replay = new Replay("twice", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        // Slow enough to outlast the second run's wait for members to leave (the session timeout, here the broker's least, and 2 s):
        // 36 events at 64 steps were all done in 4 s on the CI machine, 12 at 2000 steps in 11 s; 60 at 2000 take about a minute,
        // and the first run is stopped once the second is refused.
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "twice", "batch.max.events", "1",
                "attribution.steps", "2000", "session.timeout.ms", "6000", "heartbeat.interval.ms", "2000")), replay, null, "twice-out");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.CompletableFuture<ReplayRunner.Outcome> first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> done.set(d), stop::get, Clock.systemUTC());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long waited = System.nanoTime();
        while (done.get() == 0 && !first.isDone() && System.nanoTime() - waited < Duration.ofMinutes(2).toNanos()) {
            Thread.sleep(100);
        }
        assertFalse(first.isDone(), "the first run is still running");
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertTrue(refused.getMessage().startsWith("--replay-id = twice is running now: its consumer group explainstream-replay-twice has 1 member ("),
                refused.getMessage());
        assertTrue(refused.getMessage().endsWith("two runs of one replay split its partitions and each counts only its own. Wait for that run to end,"
                + " or stop it"), refused.getMessage());
        stop.set(true);
        ReplayRunner.Outcome stopped = first.get(2, TimeUnit.MINUTES);
        assertFalse(stopped.finished(), "the first run was still at work when the second was refused, and stopped when told");
    }

    @Test
    void aReplayIdThatDiffersFromAnotherOnlyByDotAgainstUnderscoreIsRefusedAtOnce() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        produceHour("dotted", hour, 1, 2);
        Replay first = new Replay("dotted.id", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig firstConfig = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "dotted")), first, null, "dotted-out");
        assertTrue(ReplayRunner.run(firstConfig, TestData.repo(), first, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());

        Replay second = new Replay("dotted_id", first.fromMs(), first.toMs());
        ServiceConfig secondConfig = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "dotted")), second, null, "dotted-out-2");
        ReplayPlan plan = ReplayRunner.plan(secondConfig, second);
        ConfigException dryRun = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.admit(secondConfig, TestData.repo(), second, plan), "what --dry-run calls");
        assertTrue(dryRun.getMessage().startsWith("--replay-id = dotted_id cannot run beside topic explainstream-replay-dotted.id-"), dryRun.getMessage());
        assertTrue(dryRun.getMessage().endsWith("Kafka takes '.' and '_' in topic names as the same character, so the internal topics of"
                + " explainstream-replay-dotted_id (explainstream-replay-dotted_id-…) would collide with that topic, which another application or replay"
                + " made; give another --replay-id"), dryRun.getMessage());
        long started = System.nanoTime();
        // A minute at most: the old code never ended.
        ConfigException run = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ReplayRunner.run(secondConfig, TestData.repo(),
                second, false, (d, t, b, s) -> { }, () -> System.nanoTime() - started > Duration.ofMinutes(1).toNanos(), Clock.systemUTC()));
        assertEquals(dryRun.getMessage(), run.getMessage());
    }

    /**
     * A replay whose record and group offsets are both gone, but whose application has run (its
     * outcome counts' changelog exists), is refused: what it read is unknown.
     */
    @Test
    void aReplayWhoseRecordAndOffsetsAreGoneIsRefusedRatherThanRunAgain() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        produceHour("forgotten", hour, 1, 3);
        Replay replay = new Replay("forgotten", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "forgotten")), replay, null, "forgotten-out");
        assertTrue(ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        deleteGroupsOf(ReplayRunner.group(config));
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>(ReplayLedger.topicOf("explainstream"), 0, "forgotten", null)).get();
        }
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertTrue(refused.getMessage().startsWith("--replay-id = forgotten has run before"), refused.getMessage());
        assertEquals(3, readAll("forgotten-out", 3).size(), "nothing explained twice");
    }

    /**
     * The replays topic deleted while a replay runs (by hand, or by a cleanup script): the next save
     * makes it again as the ledger makes it, compacted, where a producer's auto-creation would
     * make it with the broker's defaults (deleting by time, so that a replay stopped longer than
     * its retention could no longer resume). The replay finishes, and its record is there.
     */
    @Test
    void theReplaysTopicDeletedWhileAReplayRunsIsMadeAgainCompacted() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        produceHour("ledger-gone", hour, 1, 30);
        Replay replay = new Replay("gone", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("ledger-app").with(Map.of("input.topic", "ledger-gone", "batch.max.events", "1",
                "attribution.steps", "32")), replay, null, "ledger-gone-out");
        String replays = ReplayLedger.topicOf("ledger-app");
        java.util.concurrent.atomic.AtomicBoolean deleted = new java.util.concurrent.atomic.AtomicBoolean();
        ReplayRunner.Outcome outcome = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> {
            if (!deleted.get() && committed(config) >= 3) {
                try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                    admin.deleteTopics(List.of(replays)).all().get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                deleted.set(true);
            }
            return false;
        }, Clock.systemUTC());
        assertTrue(deleted.get(), "deleted while it ran");
        assertTrue(outcome.finished(), "finished");
        assertEquals(30, outcome.explained());
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            org.apache.kafka.common.config.ConfigResource resource = new org.apache.kafka.common.config.ConfigResource(
                    org.apache.kafka.common.config.ConfigResource.Type.TOPIC, replays);
            assertEquals("compact", admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource).get("cleanup.policy").value(),
                    "made again as the ledger makes it");
        }
        ReplayRecord record = ReplayRunner.recorded(base("ledger-app"), "gone").orElseThrow();
        assertEquals(30L, record.doneOffsets().values().stream().mapToLong(Long::longValue).sum(), "its progress saved to the end");
    }

    /** A replay of 30 events of one partition, one per batch, into {@code <topic>-out}, interrupted once {@code committed} offsets are in. */
    private record Interrupted(List<String> ids, Replay replay, ServiceConfig config, ReplayRunner.Outcome first) {}

    private Interrupted interrupted(String topic, int committed) throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        List<String> ids = produceHour(topic, hour, 1, 30);
        Replay replay = new Replay(topic, hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", topic, "batch.max.events", "1",
                "attribution.steps", "16")), replay, null, topic + "-out");
        ReplayRunner.Outcome first = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> kafka != null
                && ReplayTest.committed(config) >= committed, Clock.systemUTC());
        assertFalse(first.finished(), "interrupted part way");
        return new Interrupted(ids, replay, config, first);
    }

    /** Deletes the replay's consumer group and those named after it. */
    private static void deleteGroupsOf(String group) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            List<String> groups = admin.listGroups().all().get(30, TimeUnit.SECONDS).stream().map(g -> g.groupId())
                    .filter(id -> id.equals(group) || id.startsWith(group + "-")).toList();
            admin.deleteConsumerGroups(groups).all().get(30, TimeUnit.SECONDS);
            assertTrue(offsets(group).isEmpty(), "the group's offsets are gone");
        }
    }

    private static long committed(ServiceConfig config) {
        try {
            return offsets(ReplayRunner.group(config)).values().stream().mapToLong(OffsetAndMetadata::offset).sum();
        } catch (Exception e) {
            return 0;
        }
    }

    @Test
    void aReplayOverARangeThatRetentionDeletedInPartSaysWhatIsGoneAndStartsOnlyWhenAllowed() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        produceBusyHour("retained", hour, 1);
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            // What retention does to old segments: the first 40 records are gone.
            admin.deleteRecords(Map.of(new TopicPartition("retained", 0), org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(40)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Replay replay = new Replay("gone", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "retained")), replay, null, "gone-out");
        ReplayRunner.Outcome refused = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertFalse(refused.finished(), "does not claim success");
        assertEquals("[partition 0: up to 40 records of the range (offsets 0..39) deleted by retention]", refused.gaps().toString());
        ReplayRunner.Outcome allowed = ReplayRunner.run(config, TestData.repo(), replay, true, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(allowed.finished());
        assertEquals(260, allowed.explained(), "what is left is explained");
        assertEquals(1, allowed.gaps().size(), "and the gap is still reported");
    }

    /**
     * Retention deleted the start of the range, and the oldest record left is stamped just before
     * --from (logged out of timestamp order): offsetsForTimes lands past it, and the deleted part was
     * not reported (a hostile test: the replay exited 0 with fewer events). A record logged before
     * one stamped t may be stamped up to replay.out.of.order.ms after t, so the deleted records may
     * be in range wherever the oldest left is stamped within the bound before --from; where it is
     * stamped further back, they cannot be, and nothing is reported.
     */
    @Test
    void aDeletedStartOfTheRangeIsReportedWhenTheOldestRecordLeftIsStampedJustBeforeIt() throws Exception {
        String topic = "retention-edge";
        kafka.createTopic(topic, 2);
        long from = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS).toEpochMilli();
        // Per partition, the timestamps of offsets 0..3 as logged; offsets 0 and 1 are then deleted.
        long[][] stamps = {{from + 1_000, from + 2_000, from - 120_000, from + 3_000}, {from - 1_200_000, from - 900_000, from - 600_000, from + 3_000}};
        try (KafkaProducer<String, String> producer = producer()) {
            for (int partition = 0; partition < 2; partition++) {
                for (int offset = 0; offset < 4; offset++) {
                    String id = topic + "-" + partition + "-" + offset;
                    long timestamp = stamps[partition][offset];
                    producer.send(new ProducerRecord<>(topic, partition, timestamp, id, event(id, timestamp, "One day,", "a girl"))).get();
                }
            }
        }
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.deleteRecords(Map.of(new TopicPartition(topic, 0), org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(2),
                    new TopicPartition(topic, 1), org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(2))).all().get(30, TimeUnit.SECONDS);
        }
        Replay replay = new Replay("edge", from, from + Duration.ofHours(1).toMillis());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", topic)), replay, null, "edge-out");
        ReplayRunner.Outcome refused = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertFalse(refused.finished(), "refused: part of the range may be gone");
        assertEquals("[partition 0: up to 2 records of the range (offsets 0..1) deleted by retention]", refused.gaps().toString(),
                "partition 0's oldest record left is stamped 2 minutes before --from, partition 1's 10 minutes (past the 5-minute bound)");
        ReplayRunner.Outcome allowed = ReplayRunner.run(config, TestData.repo(), replay, true, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(allowed.finished());
        assertEquals(2, allowed.explained(), "offset 3 of each partition");
        assertEquals(refused.gaps(), allowed.gaps(), "and the gap is still reported");
    }

    /**
     * A resumed replay with --allow-gaps, one of whose partitions retention emptied before the
     * replay read it: there is no record left there to process and commit, so its committed offset
     * stays where it was, and the replay waited for it for ever (a hostile test: 30/60 records,
     * 10 minutes). The records retention deleted count as accounted for: it finishes.
     */
    @Test
    void aResumedReplayOfAPartitionRetentionEmptiedBeforeItWasReadFinishes() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        kafka.createTopic("emptied", 2);
        try (KafkaProducer<String, String> producer = producer()) {
            for (int i = 0; i < 6; i++) {
                long timestamp = hour.toEpochMilli() + i * 60_000L;
                producer.send(new ProducerRecord<>("emptied", i % 2, timestamp, "emptied-" + i, event("emptied-" + i, timestamp, "One day, " + i, "a girl")))
                        .get();
            }
        }
        Replay replay = new Replay("emptied", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "emptied")), replay, null, "emptied-out");
        assertTrue(ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        // As if it had stopped before reading partition 1, whose records retention then deleted.
        TopicPartition emptied = new TopicPartition("emptied", 1);
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets(ReplayRunner.group(config), Map.of(emptied, new OffsetAndMetadata(0))).all().get(30, TimeUnit.SECONDS);
            admin.deleteRecords(Map.of(emptied, org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(3))).all().get(30, TimeUnit.SECONDS);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        ReplayRunner.Outcome resumed = ReplayRunner.run(config, TestData.repo(), replay, true, (d, t, b, s) -> { }, () -> System.nanoTime() > deadline,
                Clock.systemUTC());
        assertTrue(resumed.finished(), "finished rather than waiting for records that are gone");
        assertEquals("[partition 1: 3 records of the range (offsets 0..2) deleted by retention]", resumed.gaps().toString());
        assertEquals(6, resumed.explained(), "the outcomes of the first run; nothing explained twice");
    }

    /**
     * Retention deletes records of a partition the replay has not read yet while it runs (after its
     * plan was made): the plan's oldest offsets were stale, so the replay counted those records as
     * still to read and waited for them for ever (a session's own test run, on records older than
     * the broker's retention: 10 minutes at "4/5 records"). It now reads the oldest offsets on each
     * check, finishes, and says which records went unread; its record keeps them as skipped.
     */
    @Test
    void aReplayWhoseUnreadRecordsRetentionDeletesWhileItRunsFinishesAndSaysWhichWentUnread() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        kafka.createTopic("deleted-while-running", 2);
        try (KafkaProducer<String, String> producer = producer()) {
            for (int i = 0; i < 6; i++) {
                long timestamp = hour.toEpochMilli() + i * 60_000L;
                producer.send(new ProducerRecord<>("deleted-while-running", i % 2, timestamp, "running-" + i,
                        event("running-" + i, timestamp, "One day, " + i, "a girl"))).get();
            }
        }
        Replay replay = new Replay("deleted-while-running", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "deleted-while-running")), replay, null,
                "deleted-while-running-out");
        assertTrue(ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        // As if it had stopped before reading partition 1; retention deletes those records once the
        // resumed run has made its plan (its first progress report comes before its stream starts).
        TopicPartition unread = new TopicPartition("deleted-while-running", 1);
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets(ReplayRunner.group(config), Map.of(unread, new OffsetAndMetadata(0))).all().get(30, TimeUnit.SECONDS);
        }
        java.util.concurrent.atomic.AtomicBoolean deleted = new java.util.concurrent.atomic.AtomicBoolean();
        ReplayRunner.Progress deleteOnce = deletingOnFirstReport(unread, 3, deleted);
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        ReplayRunner.Outcome resumed = ReplayRunner.run(config, TestData.repo(), replay, false, deleteOnce, () -> System.nanoTime() > deadline,
                Clock.systemUTC());
        assertTrue(deleted.get(), "the records were deleted during the run");
        assertTrue(resumed.finished(), "finished rather than waiting for records that are gone");
        assertEquals(List.of(), resumed.gaps(), "nothing was gone when it started");
        assertEquals("[partition 1: 3 records of the range (offsets 0..2) deleted by retention]", resumed.deletedWhileRunning().toString());
        assertTrue(resumed.missesRecords());
        assertEquals(6, resumed.explained(), "the outcomes of the first run; nothing explained twice");
        assertEquals(List.of(new ReplayPlan.Gap(1, 0, 3, true)), ReplayRunner.recorded(base("explainstream"), "deleted-while-running").orElseThrow().skipped(),
                "its record keeps what went unread");
        // Its committed offset on partition 1 never gets past the deleted records (none is left to
        // read there), so the next run finds them gone again: already skipped, they need no --allow-gaps.
        ReplayRunner.Outcome again = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(again.finished(), "started and finished without --allow-gaps");
        assertEquals(List.of(), again.gaps());
        assertEquals(List.of(new ReplayPlan.Gap(1, 0, 3, true)), again.skippedEarlier(), "still missing from the replay");
        assertEquals(List.of(), again.deletedWhileRunning());
    }

    /**
     * Retention deletes records in the middle of what a replay has still to read, with records left
     * after them (the usual shape: the oldest segments go, the range goes on): the stream's consumer
     * finds its offset out of range and moves on to the oldest record left without a word, and its
     * committed offsets pass the hole. The replay finished with exit 0 and fewer events, unreported
     * (a hostile test: 420 of 430 events, and a dry run that said it had read them). The jump in the
     * offsets it read, below the oldest offset left, is now reported and recorded.
     */
    @Test
    void recordsRetentionDeletesAheadOfAReplayWithRecordsLeftAfterThemAreReported() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        kafka.createTopic("deleted-ahead", 1);
        try (KafkaProducer<String, String> producer = producer()) {
            for (int i = 0; i < 10; i++) {
                long timestamp = hour.toEpochMilli() + i * 60_000L;
                producer.send(new ProducerRecord<>("deleted-ahead", 0, timestamp, "ahead-" + i, event("ahead-" + i, timestamp, "One day, " + i, "a girl")))
                        .get();
            }
        }
        Replay replay = new Replay("deleted-ahead", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "deleted-ahead")), replay, null, "deleted-ahead-out");
        assertTrue(ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        // As if it had stopped at offset 2; retention deletes offsets 2..5 once the resumed run has made its plan.
        TopicPartition partition = new TopicPartition("deleted-ahead", 0);
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets(ReplayRunner.group(config), Map.of(partition, new OffsetAndMetadata(2))).all().get(30, TimeUnit.SECONDS);
        }
        java.util.concurrent.atomic.AtomicBoolean deleted = new java.util.concurrent.atomic.AtomicBoolean();
        ReplayRunner.Progress deleteOnce = deletingOnFirstReport(partition, 6, deleted);
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        ReplayRunner.Outcome resumed = ReplayRunner.run(config, TestData.repo(), replay, false, deleteOnce, () -> System.nanoTime() > deadline,
                Clock.systemUTC());
        assertTrue(deleted.get() && resumed.finished());
        assertEquals(List.of(), resumed.gaps(), "nothing was gone when it started");
        assertEquals(List.of(new ReplayPlan.Gap(0, 2, 4, true)), resumed.deletedWhileRunning(), "offsets 2..5 went unread");
        assertEquals(List.of(new ReplayPlan.Gap(0, 2, 4, true)), ReplayRunner.recorded(base("explainstream"), "deleted-ahead").orElseThrow().skipped());
    }

    /**
     * Offsets a read-committed consumer never sees (transaction markers, an aborted transaction's
     * records) are jumps in what the stream reads, but nothing was deleted: no part is reported
     * missing ({@link #recordsRetentionDeletesAheadOfAReplayWithRecordsLeftAfterThemAreReported}).
     */
    @Test
    void aTransactionallyLoggedInputIsReplayedWithNothingReportedMissing() throws Exception {
        Instant hour = Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        kafka.createTopic("logged-in-transactions", 2);
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "replay-test-logger");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            producer.initTransactions();
            for (int t = 0; t < 3; t++) {
                producer.beginTransaction();
                for (int i = 0; i < 2; i++) {
                    String id = "tx-" + t + "-" + i;
                    long timestamp = hour.toEpochMilli() + (t * 2 + i) * 60_000L;
                    producer.send(new ProducerRecord<>("logged-in-transactions", 0, timestamp, id, event(id, timestamp, "One day, " + i, "a girl")));
                }
                producer.flush(); // written to the log before the abort, which would otherwise drop them unsent
                if (t == 1) {
                    producer.abortTransaction(); // its records are never read
                } else {
                    producer.commitTransaction();
                }
            }
            // Partition 1 holds only an aborted transaction: no record for the stream to process
            // and commit there, which made the replay wait for ever (a hostile test).
            producer.beginTransaction();
            long timestamp = hour.toEpochMilli() + 30 * 60_000L;
            producer.send(new ProducerRecord<>("logged-in-transactions", 1, timestamp, "tx-aborted", event("tx-aborted", timestamp, "One day,", "a girl")));
            producer.flush();
            producer.abortTransaction();
        }
        // The markers are written after the commit returns: wait until every transaction is stable (9 offsets, 3 of them markers).
        TopicPartition logged = new TopicPartition("logged-in-transactions", 0);
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            long stable;
            while ((stable = admin.listOffsets(Map.of(logged, org.apache.kafka.clients.admin.OffsetSpec.latest()),
                    new org.apache.kafka.clients.admin.ListOffsetsOptions(org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all()
                    .get(30, TimeUnit.SECONDS).get(logged).offset()) < 9) {
                assertTrue(System.nanoTime() < deadline, "the transactions became stable: " + stable + ", log end "
                        + admin.listOffsets(Map.of(logged, org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS).get(logged).offset());
                Thread.sleep(100);
            }
        }
        Replay replay = new Replay("in-transactions", hour.toEpochMilli(), hour.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", "logged-in-transactions")), replay, null,
                "in-transactions-out");
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        ReplayRunner.Outcome outcome = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> System.nanoTime() > deadline,
                Clock.systemUTC());
        assertTrue(outcome.finished(), "finished rather than waiting for partition 1's offset");
        assertEquals(4, outcome.explained(), "the committed transactions' events");
        assertEquals(List.of(), outcome.deletedWhileRunning(), "markers and aborted records are no loss");
        assertFalse(outcome.missesRecords());
    }

    /**
     * Progress that deletes the records of {@code partition} before {@code beforeOffset} at its first
     * report, as retention would: a resumed replay reports first after its plan is made and before
     * its stream starts. Sets {@code deleted} once done.
     */
    private static ReplayRunner.Progress deletingOnFirstReport(TopicPartition partition, long beforeOffset, java.util.concurrent.atomic.AtomicBoolean deleted) {
        return (done, total, before, seconds) -> {
            if (!deleted.getAndSet(true)) {
                try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                    admin.deleteRecords(Map.of(partition, org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(beforeOffset))).all()
                            .get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** Three valid events and one malformed, ten days ago (past the broker's default retention of 7 days), on a topic that keeps them. */
    private static Instant produceTenDaysAgo(String topic) throws Exception {
        Instant at = Instant.now().minus(Duration.ofDays(10)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        kafka.createTopic(topic, 1, Map.of("retention.ms", "-1"));
        try (KafkaProducer<String, String> producer = producer()) {
            for (int i = 0; i < 4; i++) {
                long timestamp = at.toEpochMilli() + i * 60_000L;
                String id = topic + "-" + i;
                String value = i == 3 ? "{not json" : event(id, timestamp, "One day, " + i, "a little girl");
                producer.send(new ProducerRecord<>(topic, 0, timestamp, id, value)).get();
            }
        }
        return at;
    }

    @Test
    void aReplayOfTrafficOlderThanTheBrokersRetentionKeepsItsExplanationsAndDeadLetters() throws Exception {
        Instant at = produceTenDaysAgo("ten-days-ago");
        assertTrue(kafka.retentionDeletes("ten-days-ago-control", at.toEpochMilli()), "the broker's retention deletes a ten-day-old record");

        Replay replay = new Replay("ten-days", at.minus(Duration.ofHours(1)).toEpochMilli(), at.plus(Duration.ofHours(1)).toEpochMilli());
        ServiceConfig config = ReplayRunner.configure(base("explainstream"), replay, "ten-days-ago", "replayed-ten-days");
        ReplayRunner.Outcome outcome = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(outcome.finished());
        assertEquals(3, outcome.explained());
        assertEquals(1, outcome.deadLettered());
        Thread.sleep(2_000); // four retention checks
        assertEquals(0, kafka.logStartOffset("replayed-ten-days"), "the replay's explanations are not deleted by retention");
        assertEquals(0, kafka.logStartOffset("replayed-ten-days-dlq"), "nor its dead letters");
        assertEquals(3, readAll("replayed-ten-days", 3).size());
        List<ConsumerRecord<byte[], byte[]>> deadLetters = readAll("replayed-ten-days-dlq", 1);
        assertEquals(1, deadLetters.size());
        assertEquals("ten-days", new String(deadLetters.get(0).headers().lastHeader(Replay.HEADER).value(), StandardCharsets.UTF_8),
                "a replay's dead letter names its replay, as its explanations do");
    }

    @Test
    void aReplayIntoATopicWhoseRetentionWouldDeleteItsOutputIsRefusedBeforeItReadsAnything() throws Exception {
        Instant at = produceTenDaysAgo("ten-days-refused");
        Replay replay = new Replay("short-retention", at.minus(Duration.ofHours(1)).toEpochMilli(), at.plus(Duration.ofHours(1)).toEpochMilli());
        kafka.createTopic("week-kept", 1, Map.of("retention.ms", "604800000"));
        kafka.createTopic("kept-dlq", 1);
        kafka.createTopic("kept", 1, Map.of("retention.ms", "-1"));
        kafka.createTopic("appended", 1, Map.of("message.timestamp.type", "LogAppendTime"));
        ServiceConfig config = ReplayRunner.configure(base("explainstream"), replay, "ten-days-refused", "week-kept");
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertTrue(refused.getMessage().startsWith("--output-topic = week-kept keeps records for retention.ms = 604800000 (7d) after their timestamp;"
                + " the replay's first event, of " + at + ", would be deleted"), refused.getMessage());
        assertEquals(0, ReplayTest.committed(config), "nothing read");
        assertTrue(ReplayRunner.recordedTerms(base("explainstream"), "short-retention").isEmpty(), "the id keeps no terms");

        // The dead letters' topic is checked as well; its message names the setting that moves it.
        ServiceConfig keptOutput = ReplayRunner.configure(base("explainstream"), replay, "ten-days-refused", "kept");
        ConfigException deadLetters = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(keptOutput, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertTrue(deadLetters.getMessage().startsWith("dead letters' topic kept-dlq (of --output-topic = kept) keeps records for retention.ms = 604800000 (7d)"), deadLetters.getMessage());

        // A topic that stamps records with the time they are appended counts retention from then.
        ServiceConfig appended = ReplayRunner.configure(base("explainstream"), replay, "ten-days-refused", "appended");
        assertTrue(ReplayRunner.run(appended, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        assertEquals(3, readAll("appended", 3).size());

        // So does a topic that refuses timestamps a day old: the replay writes such records with the
        // write time (it was refused as if they kept their events' time). Kept for an hour only, they are lost.
        Map<String, String> dayBound = Map.of("retention.ms", "604800000", "message.timestamp.before.max.ms", "86400000");
        kafka.createTopic("day-bound", 1, dayBound);
        kafka.createTopic("day-bound-dlq", 1, dayBound);
        Replay movedReplay = new Replay("moved-by-bound", replay.fromMs(), replay.toMs());
        ServiceConfig moved = ReplayRunner.configure(base("explainstream"), movedReplay, "ten-days-refused", "day-bound");
        assertTrue(ReplayRunner.run(moved, TestData.repo(), movedReplay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        assertEquals(3, readAll("day-bound", 3).size());
        Map<String, String> hourKept = Map.of("retention.ms", "1800000", "message.timestamp.before.max.ms", "86400000");
        kafka.createTopic("day-bound-half-hour", 1, hourKept);
        Replay lostReplay = new Replay("lost-by-retention", replay.fromMs(), replay.toMs());
        ServiceConfig lost = ReplayRunner.configure(base("explainstream"), lostReplay, "ten-days-refused", "day-bound-half-hour");
        ConfigException halfHour = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ReplayRunner.run(lost, TestData.repo(), lostReplay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()));
        assertTrue(halfHour.getMessage().startsWith("--output-topic = day-bound-half-hour keeps records for retention.ms = 1800000 (30m) after their"
                + " timestamp; the replay's records of events older than message.timestamp.before.max.ms = 86400000 (1d) are written with the time they are"
                + " written, and would be deleted by "), halfHour.getMessage());
    }

    /**
     * Producers' clocks and retries leave records out of timestamp order in a partition: an event of
     * the range logged after one stamped past --to. Reading on until the first record stamped
     * replay.out.of.order.ms (5 minutes) after --to finds it; one that sits after a record stamped
     * later than that is outside the replay, as the README says. With the bound at 0 the replay
     * stopped at the first record stamped --to or later and missed the late event; at -1 (no bound) it
     * reads to the end and finds every event of the range.
     */
    @Test
    void anEventOfTheRangeLoggedAfterANewerOneIsReplayedWithinTheOutOfOrderBound() throws Exception {
        String topic = "disorder";
        kafka.createTopic(topic, 1);
        long from = DAY1.minus(Duration.ofDays(1)).toEpochMilli();
        long to = from + Duration.ofHours(1).toMillis();
        // In the order logged: in range; a second past --to; in range, after it; ten minutes past --to; in range, after that.
        String[][] log = {{"early", Long.toString(from + 60_000)}, {"newer", Long.toString(to + 1_000)}, {"late", Long.toString(to - 1_000)},
                {"much-newer", Long.toString(to + 600_000)}, {"too-late", Long.toString(to - 2_000)}};
        try (KafkaProducer<String, String> producer = producer()) {
            for (String[] record : log) {
                long timestamp = Long.parseLong(record[1]);
                producer.send(new ProducerRecord<>(topic, 0, timestamp, record[0], event(record[0], timestamp, "One day,", "a girl"))).get();
            }
        }
        Replay replay = new Replay("disorder", from, to);
        ServiceConfig config = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", topic)), replay, null, "replayed-disorder");
        assertEquals(Map.of(0, 2L), ReplayRunner.plan(config, replay).countEvents(replay), "--dry-run counts what the replay explains");
        ReplayRunner.Outcome outcome = ReplayRunner.run(config, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(outcome.finished());
        assertEquals(2, outcome.eventsInRange(), "the events of the range read, not the newer records between them");
        assertEquals(Set.of("early", "late"), keys(readAll("replayed-disorder", 2)));

        Replay strict = new Replay("disorder-strict", from, to);
        ServiceConfig strictConfig = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", topic, "replay.out.of.order.ms", "0")),
                strict, null, "replayed-disorder-strict");
        assertTrue(ReplayRunner.run(strictConfig, TestData.repo(), strict, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        assertEquals(Set.of("early"), keys(readAll("replayed-disorder-strict", 1)), "0: stops at the first record stamped --to or later");

        Replay unbounded = new Replay("disorder-unbounded", from, to);
        ServiceConfig unboundedConfig = ReplayRunner.configure(base("explainstream").with(Map.of("input.topic", topic, "replay.out.of.order.ms", "-1")),
                unbounded, null, "replayed-disorder-unbounded");
        assertEquals(Map.of(0, 3L), ReplayRunner.plan(unboundedConfig, unbounded).countEvents(unbounded));
        assertTrue(ReplayRunner.run(unboundedConfig, TestData.repo(), unbounded, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
        assertEquals(Set.of("early", "late", "too-late"), keys(readAll("replayed-disorder-unbounded", 3)), "-1: every event of the range");
    }

    private static Set<String> keys(List<ConsumerRecord<byte[], byte[]>> records) {
        Set<String> keys = new HashSet<>();
        records.forEach(record -> keys.add(new String(record.key(), StandardCharsets.UTF_8)));
        return keys;
    }

    /**
     * With a target delta, the terms keep the rule that integrates: the default gausslegendre was
     * refined as the trapezoid before and as Clenshaw–Curtis since, and a replay begun under one
     * must not resume under the other (its terms then differ, and it is refused).
     */
    @Test
    void theTermsOfAnAdaptiveReplayNameTheRuleThatIntegrates() {
        Replay replay = new Replay("rule", DAY1.toEpochMilli(), DAY2.toEpochMilli());
        ServiceConfig adaptive = ReplayRunner.configure(base("explainstream").with(Map.of("attribution.target.delta", "0.01")), replay, null, null);
        assertEquals("clenshaw_curtis", ReplayRunner.terms(adaptive, TestData.repo(), replay).settings().get("attribution.integration"));
        ServiceConfig trapezoid = ReplayRunner.configure(base("explainstream").with(Map.of("attribution.target.delta", "0.01",
                "attribution.integration", "riemann_trapezoid")), replay, null, null);
        assertEquals("riemann_trapezoid", ReplayRunner.terms(trapezoid, TestData.repo(), replay).settings().get("attribution.integration"));
        ServiceConfig fixed = ReplayRunner.configure(base("explainstream"), replay, null, null);
        assertEquals("gausslegendre", ReplayRunner.terms(fixed, TestData.repo(), replay).settings().get("attribution.integration"));
        ReplayTerms before = ReplayRunner.terms(adaptive, TestData.repo(), replay);
        java.util.TreeMap<String, String> old = new java.util.TreeMap<>(before.settings());
        old.put("attribution.integration", "gausslegendre");
        ReplayTerms recordedBefore = new ReplayTerms(before.inputTopic(), before.outputTopic(), before.fromMs(), before.toMs(), old, before.startOffsets());
        assertEquals(List.of("attribution.integration = 'gausslegendre'; this run: 'clenshaw_curtis'"), before.differencesFrom(recordedBefore),
                "an adaptive replay recorded before the change is refused on resume");
    }

    @Test
    void timesAreIsoInstantsDatesNowOrDurationsBeforeNow() {
        Instant now = Instant.parse("2026-11-30T12:00:00Z");
        assertEquals(Instant.parse("2026-11-27T12:00:00Z"), TimeSpec.parse("--from", "-3d", now));
        assertEquals(Instant.parse("2026-11-30T00:00:00Z"), TimeSpec.parse("--from", "-12h", now));
        assertEquals(Instant.parse("2026-11-28T00:00:00Z"), TimeSpec.parse("--from", "2026-11-28", now));
        assertEquals(now, TimeSpec.parse("--to", "now", now));
        var error = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> TimeSpec.parse("--to", "yesterday", now));
        assertTrue(error.getMessage().startsWith("--to = 'yesterday' is not a time"), error.getMessage());
        for (String far : new String[] {"-1000000000000000000d", "-9999999999999h", "-99999999999999999999d", "+9999999999999999w"}) {
            var tooFar = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> TimeSpec.parse("--from", far, now));
            assertEquals("--from = '" + far + "' is further from now than a time can be; give a date instead (2026-11-28)", tooFar.getMessage());
        }
        var order = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> new Replay("r", 10, 5));
        assertTrue(order.getMessage().startsWith("--from must be before --to"), order.getMessage());
        // Record timestamps are milliseconds: an instant between two is the later one, for --from and --to alike (cut, an event
        // stamped before --from was replayed, one before --to left out, and [00:00, 00:00.0000001), which holds 00:00.000, refused as empty).
        assertEquals(Instant.parse("2026-12-01T00:00:00.001Z"), TimeSpec.parseRecordTime("--from", "2026-12-01T00:00:00.0000001Z", now));
        assertEquals(Instant.parse("2026-12-01T00:00:00.500Z"), TimeSpec.parseRecordTime("--from", "2026-12-01T00:00:00.5Z", now));
        Instant from = TimeSpec.parseRecordTime("--from", "2026-12-01T00:00:00Z", now);
        Instant to = TimeSpec.parseRecordTime("--to", "2026-12-01T00:00:00.0000001Z", now);
        assertEquals(from.toEpochMilli() + 1, new Replay("r", from.toEpochMilli(), to.toEpochMilli()).toMs(), "one millisecond: the event at 00:00.000");
    }
}
