package io.explainstream.stream.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.attribution.Attribution;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.audit.InputEnds;
import io.explainstream.stream.config.BatchPolicy;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.topology.StreamFixture;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The whole service on a real in-JVM KRaft broker, with the built-in registry and the bundled model. */
@Tag("slow")
class ServiceIntegrationTest {

    private static final String[] PROMPTS = {"Once upon a time, there was a little girl named", "One day,", "The cat sat on the", "Tom had a big red"};
    private static final String[] RESPONSES = {"Lily. She loved to play", "a little girl named Lily", "mat and slept.", "ball. He liked it."};
    @RegisterExtension
    static final BuiltInRegistry REGISTRY = new BuiltInRegistry();
    private static InJvmKafka kafka;

    @TempDir
    Path stateDir;

    @BeforeAll
    static void startCluster() throws Exception {
        kafka = InJvmKafka.start(InJvmKafka.RETENTION_RUNS);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        kafka.close();
    }

    private ServiceConfig config(String suffix) {
        Map<String, String> values = new HashMap<>();
        values.put("bootstrap.servers", kafka.bootstrapServers());
        values.put("application.id", "explain-" + suffix);
        values.put("state.dir", stateDir.resolve(suffix).toString());
        values.put("schema.registry.url", REGISTRY.url().toString());
        values.put("input.topic", "in-" + suffix);
        values.put("output.topic", "out-" + suffix);
        values.put("dlq.topic", "dlq-" + suffix);
        values.put("attribution.steps", Integer.toString(StreamFixture.SETTINGS.steps()));
        values.put("batch.max.events", "8");
        values.put("batch.max.wait.ms", "300");
        values.put("ops.port", "0");
        values.put("topics.partitions", "2");
        return ServiceConfig.of(values);
    }

    static String json(String id, String prompt, String response) {
        return "{\"event_id\":\"" + id + "\",\"timestamp\":" + Instant.now().toEpochMilli() + ",\"model\":\"stories260K\",\"prompt\":\""
                + prompt + "\",\"response\":\"" + response + "\"}";
    }

    private static void produce(String topic, List<String[]> keyValues) {
        kafka.produce(topic, keyValues);
    }

    private static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic, Predicate<List<ConsumerRecord<byte[], byte[]>>> done,
            Duration timeout) {
        return kafka.readCommitted(topic, done, timeout);
    }

    /**
     * Backlog control's count of unread records comes from the input's ends as the broker reports
     * them to a read-committed reader: records of a committed transaction count, those of one still
     * open do not (the service could not read them yet), and each partition has its own end.
     */
    @Test
    void theInputsEndsAreReadFromTheBrokerAsAReadCommittedConsumerSeesThem() throws Exception {
        kafka.createTopic("ends-in", 3);
        Properties properties = new Properties();
        properties.putAll(kafka.clientSettings());
        try (InputEndOffsets ends = new InputEndOffsets(properties, "ends-in", Duration.ofMillis(100), Clock.systemUTC());
                var producer = kafka.producer(Map.of("transactional.id", "ends-test"))) {
            assertTrue(ends.endOffset("ends-in", 0).isEmpty(), "nothing read before begin()");
            assertTrue(ends.firstEnd("ends-in", 0).isEmpty(), "nothing read before begin()");
            long beganMs = System.currentTimeMillis();
            ends.begin();
            awaitEnd(ends, 0, 0);
            long firstReadMs = System.currentTimeMillis();
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 5; i++) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("ends-in", 0, null, new byte[] {(byte) i}));
            }
            producer.commitTransaction();
            producer.beginTransaction();
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("ends-in", 0, null, new byte[] {9}));
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("ends-in", 1, null, new byte[] {9}));
            producer.flush();
            // Five records and the commit marker: the sixth offset is the open transaction's first.
            awaitEnd(ends, 0, 6);
            Thread.sleep(500);
            assertEquals(6, ends.endOffset("ends-in", 0).getAsLong(), "the open transaction's record is not counted");
            assertEquals(0, ends.endOffset("ends-in", 1).getAsLong());
            assertTrue(ends.endOffset("other-topic", 0).isEmpty());
            producer.commitTransaction();
            awaitEnd(ends, 1, 2);
            // The first read's ends stand: what was in each partition when the service started, and when it was read.
            for (int partition = 0; partition < 2; partition++) {
                InputEnds.SeenEnd first = ends.firstEnd("ends-in", partition).orElseThrow();
                assertEquals(0, first.end());
                assertTrue(first.atMs() >= beganMs && first.atMs() <= firstReadMs, first + " read between " + beganMs + " and " + firstReadMs);
            }
            assertTrue(ends.firstEnd("other-topic", 0).isEmpty());
            // The ends read, oldest first: from the first read's 0 to the 8 read now (the second transaction's record and its
            // commit marker), for an arrival rate at a task's first tick.
            List<InputEnds.SeenEnd> read = ends.endsSince("ends-in", 0, beganMs);
            assertEquals(0, read.get(0).end(), read.toString());
            assertEquals(8, read.get(read.size() - 1).end(), read.toString());
            for (int i = 1; i < read.size(); i++) {
                assertTrue(read.get(i).atMs() >= read.get(i - 1).atMs() && read.get(i).end() >= read.get(i - 1).end(), read.toString());
            }
            long lastMs = read.get(read.size() - 1).atMs();
            assertTrue(ends.endsSince("ends-in", 0, lastMs + 1).isEmpty(), "none read after the last");
            assertTrue(ends.endsSince("other-topic", 0, 0).isEmpty());
            // Records stamped as they are sent arrive stamped a moment before; a mirror's an hour before (partition 2: the newest
            // record's timestamp is the largest in the partition, which a fresh record there would be).
            OptionalLong asSent = ends.arrivalsStampedBeforeMs("ends-in", 0);
            assertTrue(asSent.isPresent() && asSent.getAsLong() < 10_000, "stamped as sent: " + asSent);
            producer.beginTransaction();
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("ends-in", 2, System.currentTimeMillis() - 3_600_000, null,
                    new byte[] {1}));
            producer.commitTransaction();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (ends.arrivalsStampedBeforeMs("ends-in", 2).orElse(0) < 3_600_000 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(ends.arrivalsStampedBeforeMs("ends-in", 2).orElse(0) >= 3_600_000, "a mirror's: " + ends.arrivalsStampedBeforeMs("ends-in", 2));
            assertTrue(ends.arrivalsStampedBeforeMs("other-topic", 0).isEmpty());
        }
    }

    /**
     * A task that has not read since it started waits on the records after the offset its group
     * (the service's application.id) committed: read from the broker for the partitions asked
     * about; a partition the group never committed has none.
     */
    /**
     * Two instances in one group, each a stream thread's consumer named as Kafka Streams names it;
     * the second has a transaction open on the output (a batch store's changelog, in the service)
     * and then leaves the group without ending it, as a killed instance does once the session
     * timeout drops it. A read_committed reader of the output was held until the transaction timed
     * out (60 s here; a hostile test's survivor restored a killed instance's store 58 to 79 s after
     * the kill). The first instance's fencer fences the one that left: the transaction is aborted
     * within seconds, and its producer is fenced; its own producer is not.
     */
    @Test
    void theOpenTransactionOfAnInstanceThatLeftTheGroupIsAbortedOnceItHasLeft() throws Exception {
        kafka.createTopic("fence-in", 2);
        kafka.createTopic("fence-out", 1);
        String app = "fence-app";
        String stays = java.util.UUID.randomUUID().toString();
        String leaves = java.util.UUID.randomUUID().toString();
        Properties properties = new Properties();
        properties.putAll(kafka.clientSettings());
        properties.put(org.apache.kafka.streams.StreamsConfig.APPLICATION_ID_CONFIG, app);
        org.apache.kafka.common.TopicPartition out = new org.apache.kafka.common.TopicPartition("fence-out", 0);
        try (var staying = member(app, stays); var leaving = member(app, leaves);
                var leavingProducer = kafka.producer(Map.<String, Object>of("transactional.id", app + "-" + leaves + "-1", "transaction.timeout.ms", 60_000));
                var stayingProducer = kafka.producer(Map.<String, Object>of("transactional.id", app + "-" + stays + "-1", "transaction.timeout.ms", 60_000));
                LeftInstanceFencer fencer = new LeftInstanceFencer(properties, Duration.ofMillis(200),
                        () -> List.of(app + "-" + stays + "-StreamThread-1-consumer"));
                org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(properties)) {
            pollUntil(() -> stableMembers(admin, app) == 2, staying, leaving);
            leavingProducer.initTransactions();
            leavingProducer.beginTransaction();
            leavingProducer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("fence-out", 0, null, new byte[] {1})).get();
            stayingProducer.initTransactions();
            stayingProducer.beginTransaction();
            fencer.begin();
            // The fencer sees the group stable with both, at least once.
            long seen = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            pollUntil(() -> System.nanoTime() > seen, staying, leaving);
            assertEquals(0, readCommittedEnd(admin, out), "the open transaction holds the reader");
            leaving.close();
            long leftAt = System.nanoTime();
            pollUntil(() -> readCommittedEnd(admin, out) > 0 || System.nanoTime() - leftAt > Duration.ofSeconds(30).toNanos(), staying);
            double abortedAfter = (System.nanoTime() - leftAt) / 1e9;
            assertTrue(readCommittedEnd(admin, out) > 0, "the transaction is still open " + abortedAfter + " s after its instance left");
            assertTrue(abortedAfter < 20, "aborted " + abortedAfter + " s after its instance left");
            org.junit.jupiter.api.Assertions.assertThrows(org.apache.kafka.common.KafkaException.class, leavingProducer::commitTransaction,
                    "the instance that left is fenced");
            stayingProducer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("fence-out", 0, null, new byte[] {2})).get();
            stayingProducer.commitTransaction();
        }
    }

    /** A consumer in group {@code app} named as Kafka Streams names process {@code process}'s first stream thread's. */
    private static org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> member(String app, String process) {
        Properties props = new Properties();
        props.putAll(kafka.clientSettings());
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG, app);
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.CLIENT_ID_CONFIG, app + "-" + process + "-StreamThread-1-consumer");
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
        var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(props);
        consumer.subscribe(List.of("fence-in"));
        return consumer;
    }

    /** Polls each consumer in turn (a group rebalances only as its members poll) until {@code done}, for at most 60 s. */
    @SafeVarargs
    private static void pollUntil(java.util.concurrent.Callable<Boolean> done, org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>... members)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.call()) {
            assertTrue(System.nanoTime() < deadline, "not within 60 s");
            for (var member : members) {
                member.poll(Duration.ofMillis(50));
            }
        }
    }

    private static int stableMembers(org.apache.kafka.clients.admin.Admin admin, String group) throws Exception {
        try {
            var description = admin.describeConsumerGroups(List.of(group)).all().get(20, java.util.concurrent.TimeUnit.SECONDS).get(group);
            return description.groupState() == org.apache.kafka.common.GroupState.STABLE ? description.members().size() : -1;
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException) {
                return -1; // before its first member joined
            }
            throw e;
        }
    }

    private static long readCommittedEnd(org.apache.kafka.clients.admin.Admin admin, org.apache.kafka.common.TopicPartition partition) throws Exception {
        return admin.listOffsets(Map.of(partition, org.apache.kafka.clients.admin.OffsetSpec.latest()),
                new org.apache.kafka.clients.admin.ListOffsetsOptions(org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all()
                .get(20, java.util.concurrent.TimeUnit.SECONDS).get(partition).offset();
    }

    @Test
    void theGroupsCommittedOffsetsAreReadForThePartitionsAskedAbout() throws Exception {
        kafka.createTopic("committed-in", 2);
        Properties properties = new Properties();
        properties.putAll(kafka.clientSettings());
        properties.put(org.apache.kafka.streams.StreamsConfig.APPLICATION_ID_CONFIG, "committed-app");
        try (InputEndOffsets ends = new InputEndOffsets(properties, "committed-in", Duration.ofMillis(100), Clock.systemUTC());
                org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(properties)) {
            admin.alterConsumerGroupOffsets("committed-app", Map.of(new org.apache.kafka.common.TopicPartition("committed-in", 0),
                    new org.apache.kafka.clients.consumer.OffsetAndMetadata(7))).all().get(20, java.util.concurrent.TimeUnit.SECONDS);
            ends.begin();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (ends.committedOffset("committed-in", 0).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(7, ends.committedOffset("committed-in", 0).orElse(-1));
            Thread.sleep(300);
            assertTrue(ends.committedOffset("committed-in", 1).isEmpty(), "never committed");
            assertTrue(ends.committedOffset("other-topic", 0).isEmpty());
        }
    }

    private static void awaitEnd(InputEndOffsets ends, int partition, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (ends.endOffset("ends-in", partition).orElse(-1) != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(expected, ends.endOffset("ends-in", partition).orElse(-1), "partition " + partition);
    }

    @Test
    void fiftyEventsFiveMalformedGiveFortyFiveExplanationsAndFiveDeadLetters() throws Exception {
        ServiceConfig config = config("fifty");
        List<String[]> events = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            String id = "ev-" + i;
            String value = i % 10 == 7 ? malformed(i) : json(id, PROMPTS[i % 4], RESPONSES[i % 4]);
            events.add(new String[] {id, value});
        }
        try (ExplainService service = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
            produce("in-fifty", events);
            List<ConsumerRecord<byte[], byte[]>> out = readCommitted("out-fifty", records -> records.size() >= 45, Duration.ofSeconds(120));
            List<ConsumerRecord<byte[], byte[]>> dead = readCommitted("dlq-fifty", records -> records.size() >= 5, Duration.ofSeconds(30));
            assertEquals(45, out.size());
            assertEquals(5, dead.size());
            SchemaRegistryClient client = REGISTRY.client();
            var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
            StreamFixture fixture = StreamFixture.get();
            Map<Integer, Attribution> direct = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> record : out) {
                Explanation explanation = deserializer.deserialize("out-fifty", record.value());
                assertEquals(explanation.getEventId(), new String(record.key(), StandardCharsets.UTF_8), "keyed by event id");
                int variant = Integer.parseInt(explanation.getEventId().substring(3)) % 4;
                // Batches pad events to a common length: float32 noise (about 5e-5, as in the Captum parity) separates them from one-event calls.
                Attribution expected = direct.computeIfAbsent(variant, v -> fixture.direct(PROMPTS[v], RESPONSES[v]));
                for (int i = 0; i < expected.seqAttr().length; i++) {
                    assertEquals(expected.seqAttr()[i], explanation.getSeqAttr().get(i), 5e-5, explanation.getEventId() + " seq_attr " + i);
                }
            }
            for (ConsumerRecord<byte[], byte[]> record : dead) {
                Header reason = record.headers().lastHeader(DeadLetters.REASON);
                assertTrue(reason != null && reason.value().length > 0, "a reason header");
                assertTrue(new String(record.key(), StandardCharsets.UTF_8).matches("ev-\\d*7"), "only the malformed ones");
            }
            assertOperationsEndpoints(service);
        }
    }

    private static String malformed(int i) {
        switch (i / 10) {
            case 0:
                return "{\"event_id\": \"ev-7\", \"timestamp\": ";
            case 1:
                return json("ev-17", "", "empty prompt");
            case 2:
                return json("ev-27", "a", "b").replace("\"model\"", "\"modle\"");
            case 3:
                return "{\"event_id\":\"ev-37\",\"timestamp\":-5,\"model\":\"m\",\"prompt\":\"p\",\"response\":\"r\"}";
            default:
                return "[1, 2, 3]";
        }
    }

    private static void assertOperationsEndpoints(ExplainService service) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + service.operationsPort();
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode(), health.body());
        assertTrue(health.body().contains("\"status\":\"UP\""), health.body());
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        String text = metrics.body();
        assertEquals(50.0, service.metrics().count("explainstream.events.in"), "events in:\n" + text);
        assertEquals(45.0, service.metrics().count("explainstream.events.out"), "events out");
        assertEquals(5.0, service.metrics().count("explainstream.events.dlq", "stage", "validation"), "dead letters");
        assertTrue(text.contains("explainstream_events_in_total{model=\"stories260K\"}"), "events in by model:\n" + text);
        assertTrue(text.contains("explainstream_events_dlq_total{model=\"unknown\",stage=\"validation\"}"), "a record that is not JSON has no model");
        assertTrue(text.contains("explainstream_batch_size_count"), "batch sizes");
        assertTrue(text.contains("explainstream_attribution_per_event_seconds_bucket{le="), "attribution time, as a histogram");
        assertTrue(text.contains("explainstream_event_time_lag_seconds"), "lag");
        assertTrue(text.contains("kafka_stream_alive_stream_threads"), "Kafka Streams' own metrics, through StreamsMeters");
    }

    @Test
    void stoppedMidBatchAndRestartedEveryValidEventIsExplainedExactlyOnce() throws Exception {
        ServiceConfig config = config("restart");
        List<String[]> events = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            events.add(new String[] {"r-" + i, json("r-" + i, PROMPTS[i % 4], RESPONSES[i % 4])});
        }
        try (ExplainService first = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
            produce("in-restart", events);
            readCommitted("out-restart", records -> records.size() >= 8, Duration.ofSeconds(60));
            // close while later batches are waiting or in flight
        }
        try (ExplainService second = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
            List<ConsumerRecord<byte[], byte[]>> out = readCommitted("out-restart", records -> records.size() >= 40, Duration.ofSeconds(120));
            Map<String, Integer> counts = new HashMap<>();
            out.forEach(record -> counts.merge(new String(record.key(), StandardCharsets.UTF_8), 1, Integer::sum));
            assertEquals(40, counts.size(), "every event explained");
            assertTrue(counts.values().stream().allMatch(c -> c == 1), "no duplicates: " + counts);
            assertEquals(KafkaStreams.State.RUNNING, second.state());
        }
    }

    /**
     * A topic with history, kept forever, read by a service deployed today: its events' explanations
     * keep their ten-day-old timestamps. The output topic the service creates keeps them as long as
     * the input keeps the events; a dead-letter topic an operator made with the broker's default
     * retention (7 days) loses its record, and the service counts that write.
     */
    @Test
    void explanationsOfOldEventsAreKeptAsLongAsTheInputKeepsThemAndWritesPastRetentionAreCounted() throws Exception {
        long tenDaysAgo = Instant.now().minus(Duration.ofDays(10)).toEpochMilli();
        assertTrue(kafka.retentionDeletes("old-control", tenDaysAgo), "the broker's default retention deletes a ten-day-old record");
        kafka.createTopic("in-old", 2, Map.of("retention.ms", "-1"));
        kafka.createTopic("dlq-old", 1);
        try (var producer = kafka.producer(Map.of())) {
            for (int i = 0; i < 3; i++) {
                String value = i == 2 ? "{not json" : json("old-" + i, PROMPTS[i], RESPONSES[i]).replaceFirst("\"timestamp\":\\d+", "\"timestamp\":" + tenDaysAgo);
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("in-old", null, tenDaysAgo, ("old-" + i).getBytes(StandardCharsets.UTF_8),
                        value.getBytes(StandardCharsets.UTF_8))).get();
            }
        }
        ServiceConfig config = config("old").with(Map.of("audit.max.lag.ms", "0")); // explain in full, however old
        try (ExplainService service = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
            assertEquals(2, readCommitted("out-old", records -> records.size() >= 2, Duration.ofSeconds(120)).size());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (kafka.logStartOffset("dlq-old") == 0 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            // (Without the output topic's retention copied from the input, the explanations went the same way within a second.)
            assertTrue(kafka.logStartOffset("dlq-old") >= 1, "the broker deleted the dead letter, past its topic's retention when written");
            var counted = service.meters().find("explainstream.records.past.retention").counters();
            assertEquals(1, counted.size(), "one topic: " + counted);
            assertEquals("dlq-old", counted.iterator().next().getId().getTag("topic"));
            assertEquals(1.0, counted.iterator().next().count());
            assertEquals(2, readCommitted("out-old", records -> records.size() >= 2, Duration.ofSeconds(5)).size(), "the explanations are kept");
        }
    }

    /**
     * A broker that refuses records older than a day (message.timestamp.before.max.ms, KIP-937, set
     * against producers with wrong clocks) on the output topics: an explanation of a ten-day-old
     * event, keeping the event's timestamp, would be refused on every retry and stall its partition.
     * The record is written with the time it is written instead (the event's time stays in the
     * value's event_time), counted per topic; the partition goes on.
     */
    @Test
    void outputTopicsThatRefuseOldTimestampsGetTheWriteTimeAndNothingStalls() throws Exception {
        long tenDaysAgo = Instant.now().minus(Duration.ofDays(10)).toEpochMilli();
        Map<String, String> refusesOld = Map.of("message.timestamp.before.max.ms", Long.toString(Duration.ofDays(1).toMillis()));
        kafka.createTopic("in-skew", 2, Map.of("retention.ms", "-1"));
        kafka.createTopic("out-skew", 2, refusesOld);
        kafka.createTopic("dlq-skew", 1, refusesOld);
        try (var producer = kafka.producer(Map.of())) {
            for (int i = 0; i < 3; i++) {
                String value = i == 2 ? "{not json" : json("skew-" + i, PROMPTS[i], RESPONSES[i]).replaceFirst("\"timestamp\":\\d+", "\"timestamp\":" + tenDaysAgo);
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("in-skew", i % 2, tenDaysAgo, ("skew-" + i).getBytes(StandardCharsets.UTF_8),
                        value.getBytes(StandardCharsets.UTF_8))).get();
            }
        }
        long started = System.currentTimeMillis();
        ServiceConfig config = config("skew").with(Map.of("audit.max.lag.ms", "0"));
        try (ExplainService service = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
            var explanations = readCommitted("out-skew", records -> records.size() >= 2, Duration.ofSeconds(90));
            assertEquals(2, explanations.size());
            var deadLetters = readCommitted("dlq-skew", records -> records.size() >= 1, Duration.ofSeconds(30));
            assertEquals(1, deadLetters.size());
            for (var record : explanations) {
                assertTrue(record.timestamp() >= started, "written with the write time: " + Instant.ofEpochMilli(record.timestamp()));
                Explanation explanation = ConfluentAvroDeserializer.specific(REGISTRY.client(), Explanation.class).deserialize("out-skew", record.value());
                assertEquals(Instant.ofEpochMilli(tenDaysAgo), explanation.getEventTime(), "the event's own time is in the value");
            }
            assertTrue(deadLetters.get(0).timestamp() >= started);
            var moved = service.meters().find("explainstream.records.timestamp.moved").counters();
            assertEquals(2.0, service.meters().find("explainstream.records.timestamp.moved").tag("topic", "out-skew").counter().count());
            assertEquals(1.0, service.meters().find("explainstream.records.timestamp.moved").tag("topic", "dlq-skew").counter().count(), moved.toString());
        }
    }

    /**
     * 3 x batch.max.seconds = 301 is over the broker's transaction.max.timeout.ms (15 minutes by
     * default): the producer could not start, on every thread replacement for ever, while the
     * service said it was running. Refused at start, naming the setting and the limit; so is a
     * session timeout the broker would refuse at every join.
     */
    @Test
    void aTransactionOrSessionTimeoutOutsideTheBrokersLimitsIsRefusedAtStart() {
        ServiceConfig config = config("txn-limit").with(Map.of("batch.max.seconds", "301"));
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ExplainService.start(config, TestData.repo(), Clock.systemUTC()).close());
        assertEquals("the transaction timeout of 903000 ms (producer.transaction.timeout.ms; unless set, 3 x batch.max.seconds, at least 60 s) is"
                + " over the broker's transaction.max.timeout.ms = 900000: lower batch.max.seconds to at most 300, or raise the broker's"
                + " transaction.max.timeout.ms", refused.getMessage());
        // Under the broker's group.min.session.timeout.ms (6 s by default) the consumer could never join: threads replaced for ever.
        ServiceConfig shortSession = config("session-limit").with(Map.of("session.timeout.ms", "5000", "heartbeat.interval.ms", "1000"));
        ConfigException session = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ExplainService.start(shortSession, TestData.repo(), Clock.systemUTC()).close());
        assertEquals("session.timeout.ms = 5000 is outside what the broker allows (group.min.session.timeout.ms = 6000, group.max.session.timeout.ms"
                + " = 1800000): the consumer could never join its group", session.getMessage());
    }

    /**
     * Kafka takes '.' and '_' in topic names as the same: an application.id that differs from a
     * running one's only there cannot make its internal topics, and its threads would be replaced
     * for ever. Refused at start instead, naming the other application's topic.
     */
    @Test
    void anApplicationIdWhoseInternalTopicsCollideWithAnothersIsRefusedAtStart() throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.<String, Object>of("bootstrap.servers",
                kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("explain-dotted.id-batch-store-changelog", 1, (short) 1))).all()
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        ConfigException refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ExplainService.start(config("dotted_id"), TestData.repo(), Clock.systemUTC()).close());
        assertEquals("application.id = explain-dotted_id cannot run beside topic explain-dotted.id-batch-store-changelog: Kafka takes '.' and '_' in"
                + " topic names as the same character, so the internal topics of explain-dotted_id (explain-dotted_id-…) would collide with that topic,"
                + " which another application or replay made; give another application.id", refused.getMessage());
    }

    @Test
    void tlsAndSaslSettingsPassThroughToKafkaAndTheirSecretsAreMasked() {
        Map<String, String> security = Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"pw\";",
                "ssl.truststore.location", "/etc/kafka/truststore.jks", "ssl.truststore.password", "changeit",
                "ssl.keystore.location", "/etc/kafka/keystore.jks", "ssl.keystore.password", "changeit", "ssl.key.password", "changeit",
                "producer.ssl.endpoint.identification.algorithm", "https");
        ServiceConfig config = ServiceConfig.of(security);
        Properties kafka = config.streamsProperties();
        security.forEach((key, value) -> assertEquals(value, kafka.getProperty(key), key + " reaches Kafka Streams and its clients"));
        Map<String, String> logged = config.describe();
        for (String secret : List.of("sasl.jaas.config", "ssl.truststore.password", "ssl.keystore.password", "ssl.key.password")) {
            assertEquals("[hidden]", logged.get(secret), secret + " is masked where the configuration is logged");
        }
        assertEquals("/etc/kafka/truststore.jks", logged.get("ssl.truststore.location"), "what is not secret is shown");
    }

    @Test
    void badConfigurationFailsAtStartWithTheKeyAndValue() {
        var unknown = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("batch.max.event", "3")));
        assertEquals("unknown configuration key 'batch.max.event'; did you mean batch.max.events? (the README lists the service's keys; Kafka keys"
                + " pass through)", unknown.getMessage());
        var steps = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("attribution.steps", "zero")));
        assertEquals("attribution.steps = 'zero' is not an integer", steps.getMessage());
        var rate = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("sample.rate", "2")));
        assertEquals("sample.rate = 2 must be in (0, 1]", rate.getMessage());
        var threads = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("num.stream.threads", "4")));
        assertTrue(threads.getMessage().startsWith("num.stream.threads = 4 is not supported"), threads.getMessage());
        var baseline = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("attribution.baseline", "x")));
        assertEquals("attribution.baseline = 'x' is not a baseline (use unk, pad, zero or a token id ≥ 0)", baseline.getMessage());
        var logFormat = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("log.format", "xml")));
        assertEquals("log.format = 'xml' is not a log format (use text or json)", logFormat.getMessage());
        var tiny = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("record.max.bytes", "10")));
        assertEquals("record.max.bytes = 10 must be at least 1024", tiny.getMessage());
        var request = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("record.max.bytes", "4000000", "max.request.size", "1048576")));
        assertEquals("record.max.bytes = 4000000 needs max.request.size of at least 4065536 (headers need room too); it is 1048576", request.getMessage());
        assertEquals("4065536", ServiceConfig.of(Map.of("record.max.bytes", "4000000")).streamsProperties().getProperty("producer.max.request.size"),
                "the producer is raised to fit the largest record");
        assertEquals(null, ServiceConfig.of(Map.of("max.request.size", "2000000")).streamsProperties().getProperty("producer.max.request.size"),
                "a user's own max.request.size is left alone");
        var budget = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("batch.max.seconds", "-5")));
        assertEquals("batch.max.seconds = -5 must be positive", budget.getMessage());
        var topK = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("summary.top.k", "0")));
        assertEquals("summary.top.k = 0 must be between 1 and 100", topK.getMessage());
        assertEquals(5, ServiceConfig.of(Map.of()).summaryTopK());
        var replacements = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("health.thread.replacements.max", "many")));
        assertEquals("health.thread.replacements.max = 'many' is not an integer", replacements.getMessage());
        var retention = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("topics.input.retention.ms", "0")));
        assertEquals("topics.input.retention.ms = '0' must be a positive number of milliseconds, or -1 (forever)", retention.getMessage());
        assertEquals("60000", ServiceConfig.of(Map.of()).streamsProperties().getProperty("producer.transaction.timeout.ms"),
                "a hard crash stalls consumers about a minute, not ten");
        ServiceConfig fromEnvironment = ServiceConfig.load(null, Map.of("EXPLAINSTREAM_BATCH_MAX_EVENTS", "16", "PATH", "/bin"));
        assertEquals(new BatchPolicy(16, 4096, 2000), fromEnvironment.batchPolicy());
        assertEquals("exactly_once_v2", ServiceConfig.of(Map.of()).streamsProperties().getProperty("processing.guarantee"));
        assertEquals("[hidden]", ServiceConfig.of(Map.of("sasl.jaas.config", "secret stuff")).describe().get("sasl.jaas.config"));
        assertEquals("[hidden]", ServiceConfig.of(Map.of("dashboard.auth", "auditor:s3cret")).describe().get("dashboard.auth"), "the dashboard's password");
        var partitions = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("topics.partitions", "0")));
        assertEquals("topics.partitions = 0 must be positive", partitions.getMessage());
        var replication = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("topics.replication.factor", "0")));
        assertEquals("topics.replication.factor = 0 must be -1 (the broker's default) or from 1 to 32767", replication.getMessage());
        var topic = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("input.topic", "")));
        assertTrue(topic.getMessage().startsWith("input.topic = '' is not a Kafka topic name: "), topic.getMessage());
        var slash = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("dlq.topic", "a/b")));
        assertTrue(slash.getMessage().startsWith("dlq.topic = 'a/b' is not a Kafka topic name: "), slash.getMessage());
    }

    /** What only the loaded model can judge (a baseline token outside its vocabulary) fails at start naming the key, not at every batch. */
    @Test
    void aBaselineOutsideTheVocabularyFailsAtStartNamingTheKey() {
        ServiceConfig config = ServiceConfig.of(Map.of("bootstrap.servers", "127.0.0.1:1", "schema.registry.url", "http://127.0.0.1:1",
                "attribution.baseline", "999999"));
        var refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ExplainService.start(config, TestData.repo(), Clock.systemUTC()).close());
        assertEquals("attribution.baseline = 999999 is outside the model's vocabulary of 512", refused.getMessage());
    }

    /** An ops.port another process holds (a replay started with the service's configuration on its host) is one line naming the key. */
    @Test
    void anOpsPortInUseFailsAtStartNamingTheKey() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ServiceConfig config = config("ops-taken").with(Map.of("ops.port", Integer.toString(taken.getLocalPort())));
            var refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                    () -> ExplainService.start(config, TestData.repo(), Clock.systemUTC()).close());
            assertTrue(refused.getMessage().startsWith("ops.port = " + taken.getLocalPort() + " cannot be used on ops.host = 127.0.0.1: "),
                    refused.getMessage());
            assertTrue(refused.getMessage().endsWith(" (another explainstream run or replay?); give another port, 0 for a free one, or -1 for none"
                    + " (replay: --set ops.port=0)"), refused.getMessage());
        }
        // An address that is not this machine's: no port would do, and no other run is to blame.
        ServiceConfig foreign = config("ops-foreign").with(Map.of("ops.port", "0", "ops.host", "192.0.2.1"));
        var refused = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ExplainService.start(foreign, TestData.repo(), Clock.systemUTC()).close());
        assertTrue(refused.getMessage().startsWith("ops.port = 0 cannot be used on ops.host = 192.0.2.1: "), refused.getMessage());
        assertTrue(refused.getMessage().endsWith("; give an address of this machine as ops.host (127.0.0.1, or 0.0.0.0 for all), or ops.port = -1 for"
                + " no endpoint"), refused.getMessage());
    }

    /** A key given twice in a file is named, not settled by its last line; a directory or a file that is not UTF-8 is named as such. */
    @Test
    void aConfigurationFileWithAKeyTwiceOrNotTextIsRefusedNamingIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path twice = dir.resolve("twice.properties");
        java.nio.file.Files.writeString(twice, "attribution.steps=50\nbatch.max.events=4\nattribution.steps = 60\n");
        var duplicate = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.load(twice, Map.of()));
        assertEquals("--config = " + twice + " sets attribution.steps twice ('50', then '60'); keep one", duplicate.getMessage());
        var folder = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.load(dir, Map.of()));
        assertEquals("--config = " + dir + " is a directory; give the properties file", folder.getMessage());
        java.nio.file.Path latin1 = dir.resolve("latin1.properties");
        java.nio.file.Files.write(latin1, new byte[] {'#', ' ', 'o', 'k', '\n', 'i', 'd', '=', (byte) 0xE9, '\n'});
        var notText = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ServiceConfig.load(latin1, Map.of()));
        assertEquals("--config = " + latin1 + " is not UTF-8 text: line 2 holds bytes that are not UTF-8 (save the file as UTF-8, or write the"
                + " character as a \\uXXXX escape)", notText.getMessage());
        var variable = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.load(null, Map.of("EXPLAINSTREAM_MODEL_THREADS", "0")));
        assertEquals("model.threads = '0' is not a thread count (use a positive whole number or auto) (set by the environment variable"
                + " EXPLAINSTREAM_MODEL_THREADS)", variable.getMessage());
        java.nio.file.Path once = dir.resolve("once.properties");
        java.nio.file.Files.writeString(once, "attribution.steps=60\n");
        assertEquals(60, ServiceConfig.load(once, Map.of("EXPLAINSTREAM_BATCH_MAX_EVENTS", "4")).attributionSettings().steps(),
                "an environment override beside the file is not a duplicate");
    }
}
