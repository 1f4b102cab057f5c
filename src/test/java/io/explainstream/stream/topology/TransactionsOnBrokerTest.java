package io.explainstream.stream.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.stream.audit.Tier;
import io.explainstream.stream.batch.Explainer;
import io.explainstream.stream.batch.PendingEvent;
import io.explainstream.stream.config.BatchPolicy;
import io.explainstream.stream.ingest.InputDecoder;
import io.explainstream.stream.ingest.InputFormat;
import io.explainstream.stream.output.EngineExplainer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batching processor's transactions on a real broker, where, unlike TopologyTestDriver, a
 * transaction commits only when Kafka Streams' loop gets to it, and what a transaction writes is
 * read (read_committed) only then.
 */
@Tag("slow")
class TransactionsOnBrokerTest {

    private static final String PROMPT = "Once upon a time, there was a little girl named";
    private static final String LONG_PROMPT = "Once upon a time, there was a little dog who liked to run in the park. ".repeat(12);
    private static final String RESPONSE = "Lily. She loved to play";
    /** How long the engine takes for a batch with a long prompt, on top of its real time. */
    private static final long LONG_BATCH_MS = 4_000;

    @RegisterExtension
    static final BuiltInRegistry REGISTRY = new BuiltInRegistry();

    @TempDir
    Path stateDir;

    private final StreamFixture fixture = StreamFixture.get();

    /**
     * Short events and a long prompt come due in one punctuation. The short ones go first (the
     * older, and quick next to the long one); their explanations are written in the open
     * transaction, and the long batch does not join it: it would keep them unread for its whole
     * engine time. So they are read while the long batch is still in the engine. Before, both
     * batches went in one transaction, and the short explanations were read only after the long
     * batch (bench pipeline --mix: the short events' p99 2.6 times their p99 alone).
     */
    @Test
    void theExplanationsOfAShortBatchAreReadBeforeALongBatchAfterItEnds() throws Exception {
        AtomicLong longBatchEndedMs = new AtomicLong(Long.MAX_VALUE);
        Explainer slowOnLongPrompts = slowOnLongPrompts(longBatchEndedMs);
        try (InJvmKafka kafka = InJvmKafka.start()) {
            Map<String, Long> readAtMs = new ConcurrentHashMap<>();
            // Batches of up to 4 that wait 2 s to fill: the events sent together come due in one punctuation.
            try (KafkaStreams streams = start(kafka, new BatchPolicy(4, 100_000, 2_000), slowOnLongPrompts);
                    KafkaConsumer<byte[], byte[]> reader = readCommitted(kafka)) {
                reader.subscribe(List.of("out"));
                measureALongPrompt(kafka, reader, readAtMs);

                send(kafka, "short-1", PROMPT, "short-2", PROMPT, "long-1", LONG_PROMPT);
                awaitRead(reader, readAtMs, "long-1");
                assertTrue(readAtMs.containsKey("short-1") && readAtMs.containsKey("short-2"), "read: " + readAtMs.keySet());
                long ended = longBatchEndedMs.get();
                assertTrue(readAtMs.get("short-1") < ended && readAtMs.get("short-2") < ended,
                        "the short events' explanations were read " + (ended - readAtMs.get("short-1")) + " and " + (ended - readAtMs.get("short-2"))
                                + " ms before the long batch ended (negative: after it)");
                assertEquals(5, readAtMs.size(), "each explanation once: " + readAtMs.keySet());
            }
        }
    }

    /**
     * A long prompt comes due while a backlog of short events is read behind it, every other
     * record filling a short batch. The long batch does not join a transaction that holds a short
     * batch (it would hold the short explanations up), but it gives way only once: in the next
     * transaction it goes whatever that holds. It is not put off until the backlog is gone (22 of
     * the 400 short events read before it in two runs; in one CI run before it gave way only once,
     * 316, where every transaction began with a short batch).
     */
    @Test
    void aLongPromptDueWhileABacklogIsReadIsNotPutOffUntilTheBacklogIsGone() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            Map<String, Long> readAtMs = new ConcurrentHashMap<>();
            // Full at 2 events: the backlog's records fill a batch every other record; a lone long prompt is due after 1 s.
            try (KafkaStreams streams = start(kafka, new BatchPolicy(2, 100_000, 1_000), slowOnLongPrompts(new AtomicLong()));
                    KafkaConsumer<byte[], byte[]> reader = readCommitted(kafka)) {
                reader.subscribe(List.of("out"));
                measureALongPrompt(kafka, reader, readAtMs);

                int shorts = 400;
                String[] burst = new String[2 * (shorts + 1)];
                burst[0] = "long-1";
                burst[1] = LONG_PROMPT;
                for (int i = 1; i <= shorts; i++) {
                    burst[2 * i] = "short-" + i;
                    burst[2 * i + 1] = PROMPT;
                }
                send(kafka, burst);
                awaitRead(reader, readAtMs, "long-1");
                long shortsBefore = readAtMs.keySet().stream().filter(id -> id.startsWith("short-")).count();
                assertTrue(shortsBefore < shorts / 2, shortsBefore + " of the " + shorts + " short events were read before the long prompt");
            }
        }
    }

    /** Starts the batching topology on the broker, exactly once, with its topics. */
    private KafkaStreams start(InJvmKafka kafka, BatchPolicy batch, Explainer explainer) {
        kafka.createTopic("in", 1);
        kafka.createTopic("out", 1);
        kafka.createTopic("dlq", 1);
        InputDecoder decoder = new InputDecoder(InputFormat.AUTO, ConfluentAvroDeserializer.specific(REGISTRY.client(), LlmInteraction.class));
        var serializer = new ConfluentAvroSerializer<Explanation>(REGISTRY.client(), SubjectNameStrategy.TOPIC_NAME, true, false);
        var topology = ExplainTopology.build(new ExplainTopology.Topics("in", "out", "dlq", batch), decoder,
                fixture.validator(StreamFixture.defaultPolicy()), explainer, serializer, new ServiceMetrics(new SimpleMeterRegistry(), List.of()),
                StreamFixture.liveness(), Clock.systemUTC());
        KafkaStreams streams = new KafkaStreams(topology, streamsProperties(kafka));
        streams.start();
        return streams;
    }

    /** The engine's warm-up, then a long prompt alone, so that its length's cost is measured. */
    private static void measureALongPrompt(InJvmKafka kafka, KafkaConsumer<byte[], byte[]> reader, Map<String, Long> readAtMs) {
        send(kafka, "warm-up", PROMPT);
        awaitRead(reader, readAtMs, "warm-up");
        send(kafka, "long-0", LONG_PROMPT);
        awaitRead(reader, readAtMs, "long-0");
    }

    /** The real engine, {@link #LONG_BATCH_MS} slower on a batch with a long prompt; notes when such a batch ends. */
    private Explainer slowOnLongPrompts(AtomicLong longBatchEndedMs) {
        EngineExplainer engine = new EngineExplainer(fixture.engine, StreamFixture.SETTINGS,
                new EngineExplainer.Identity("stories260K", fixture.model.checkpoint().fingerprint(), null, false), Clock.systemUTC());
        return new Explainer() {
            @Override
            public List<Explanation> explain(List<PendingEvent> batch) {
                return engine.explain(batch);
            }

            @Override
            public List<Explanation> explain(List<PendingEvent> batch, Tier tier, Duration timeLimit) {
                boolean isLong = batch.stream().anyMatch(event -> event.tokens() > 100);
                if (isLong) {
                    sleep(LONG_BATCH_MS);
                }
                List<Explanation> explained = engine.explain(batch, tier, timeLimit);
                if (isLong) {
                    longBatchEndedMs.set(System.currentTimeMillis());
                }
                return explained;
            }

            @Override
            public double work(int events, int length, int targets, Tier tier) {
                return engine.work(events, length, targets, tier);
            }
        };
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends events (id, prompt, id, prompt, ...) with one producer, one after the other. */
    private static void send(InJvmKafka kafka, String... idsAndPrompts) {
        List<String[]> records = new java.util.ArrayList<>();
        for (int i = 0; i < idsAndPrompts.length; i += 2) {
            records.add(new String[] {idsAndPrompts[i], "{\"event_id\":\"" + idsAndPrompts[i] + "\",\"timestamp\":" + Instant.now().toEpochMilli()
                    + ",\"model\":\"stories260K\",\"prompt\":\"" + idsAndPrompts[i + 1] + "\",\"response\":\"" + RESPONSE + "\"}"});
        }
        kafka.produce("in", records);
    }

    /** Reads explanations, noting when each was first read, until {@code id}'s is. */
    private static void awaitRead(KafkaConsumer<byte[], byte[]> reader, Map<String, Long> readAtMs, String id) {
        long deadline = System.currentTimeMillis() + 120_000;
        while (!readAtMs.containsKey(id)) {
            assertTrue(System.currentTimeMillis() < deadline, "no explanation of " + id + " within 2 minutes; read: " + readAtMs.keySet());
            for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(50))) {
                String key = new String(record.key(), StandardCharsets.UTF_8);
                if (readAtMs.putIfAbsent(key, System.currentTimeMillis()) != null) {
                    readAtMs.put(key + " (again)", System.currentTimeMillis());
                }
            }
        }
    }

    private static KafkaConsumer<byte[], byte[]> readCommitted(InJvmKafka kafka) {
        Properties props = new Properties();
        props.putAll(kafka.clientSettings());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private Properties streamsProperties(InJvmKafka kafka) {
        Properties props = new Properties();
        props.putAll(kafka.clientSettings());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "transactions-on-broker-test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        return props;
    }
}
