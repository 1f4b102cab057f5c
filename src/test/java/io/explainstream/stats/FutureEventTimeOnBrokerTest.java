package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An event may say it happened up to a day ahead of the service's clock (clock skew is allowed for),
 * but a broker refuses a record whose timestamp is more than message.timestamp.after.max.ms ahead
 * of its own (one hour by default since Kafka 4.0). A window's statistics record carried the
 * window's start as its timestamp: one event two hours ahead failed the stats write on every try,
 * the stream thread was replaced over and over, and no other window or explanation was written.
 */
@RunsBeside
@Tag("slow")
class FutureEventTimeOnBrokerTest {

    @TempDir
    Path stateDir;

    @Test
    void anEventTwoHoursAheadIsWindowedWithoutFailingTheStatsWrite() throws Exception {
        long now = System.currentTimeMillis();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            StatsFixture.createTopics(kafka, Map.of());
            // A grace of a minute: the stream starts seconds after "present" is stamped, and with a short one a minute's end
            // falling between them made it late whatever the fast clock did (30 minutes ahead, it makes it late under any grace).
            StatsSettings settings = StatsFixture.settings(Duration.ofMinutes(1), Duration.ofMinutes(1), Duration.ofMillis(300), List.of());
            Topology topology = new Topology();
            StatsTopology.addTo(topology, settings, new StatsTopology.Codecs(ConfluentAvroDeserializer.specific(client, Explanation.class),
                    ConfluentAvroDeserializer.specific(client, LlmInteraction.class), serializer(client), serializer(client)), new SimpleMeterRegistry());
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            try (KafkaStreams streams = new KafkaStreams(topology, streamsProperties(kafka))) {
                streams.setUncaughtExceptionHandler(error -> {
                    failures.add(error);
                    return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
                });
                streams.start();
                ConfluentAvroSerializer<Explanation> explanations = serializer(client);
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    // Record timestamps are now, as the service writes them; the event times differ. One record is stamped
                    // 30 minutes ahead (a producer's fast clock, which the broker takes up to an hour ahead): before the
                    // observations were held to the wall clock, it moved the windows' stream time and "present" was late.
                    long skewed = now + Duration.ofMinutes(30).toMillis();
                    Explanation fast = StatsFixture.explanation("fast-clock", skewed, "skewed", 100, 0.02);
                    producer.send(new ProducerRecord<>("explanations", null, skewed, fast.getEventId().getBytes(StandardCharsets.UTF_8),
                            explanations.serialize("explanations", fast))).get();
                    for (Explanation explanation : List.of(StatsFixture.explanation("ahead", now + Duration.ofHours(2).toMillis(), "future", 100, 0.02),
                            StatsFixture.explanation("present", now, "present", 100, 0.02))) {
                        producer.send(new ProducerRecord<>("explanations", null, now, explanation.getEventId().getBytes(StandardCharsets.UTF_8),
                                explanations.serialize("explanations", explanation))).get();
                    }
                }
                var reader = ConfluentAvroDeserializer.specific(client, ExplanationStats.class);
                List<ConsumerRecord<byte[], byte[]>> windows = kafka.readCommitted("explanation-stats",
                        records -> applications(reader, records).containsAll(Set.of("future", "present", "skewed")), Duration.ofSeconds(60));
                assertEquals(Set.of("future", "present", "skewed"), applications(reader, windows), "every window written; stream thread failures: " + failures);
                assertTrue(failures.isEmpty(), "no stream thread failed: " + failures);
                for (ConsumerRecord<byte[], byte[]> window : windows) {
                    ExplanationStats stats = reader.deserialize("explanation-stats", window.value());
                    assertTrue(window.timestamp() <= Math.min(stats.getWindowStart().toEpochMilli(), System.currentTimeMillis()),
                            "the record's timestamp is the window's start, or the time it was written when the window is ahead: " + window.timestamp()
                                    + " for a window starting at " + stats.getWindowStart());
                }
                ExplanationStats present = windows.stream().map(r -> reader.deserialize("explanation-stats", r.value()))
                        .filter(s -> s.getGroupKey().toString().endsWith("=present")).reduce((a, b) -> b).orElseThrow();
                assertEquals(1, present.getEvents(), "the current event in its own window, not late behind the fast clock: " + present);
                assertEquals(0, present.getLateEvents());
                ExplanationStats ahead = windows.stream().map(r -> reader.deserialize("explanation-stats", r.value()))
                        .filter(s -> s.getGroupKey().toString().contains("future")).findFirst().orElseThrow();
                assertEquals(Instant.ofEpochMilli(now + Duration.ofHours(2).toMillis()).truncatedTo(java.time.temporal.ChronoUnit.MINUTES),
                        ahead.getWindowStart(), "the window is the event's, two hours ahead");
            }
        }
    }

    private static Set<String> applications(ConfluentAvroDeserializer<ExplanationStats> reader, List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(r -> reader.deserialize("explanation-stats", r.value()).getGroupKey().toString())
                .map(group -> group.substring(group.indexOf("metadata.application=") + "metadata.application=".length()))
                .collect(Collectors.toSet());
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> ConfluentAvroSerializer<T> serializer(SchemaRegistryClient client) {
        return new ConfluentAvroSerializer<>(client, SubjectNameStrategy.TOPIC_NAME, true, false);
    }

    private Properties streamsProperties(InJvmKafka kafka) {
        Properties props = new Properties();
        props.putAll(kafka.clientSettings());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "future-event-time-test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        return props;
    }
}
