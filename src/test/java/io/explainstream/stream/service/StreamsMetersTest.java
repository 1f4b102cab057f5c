package io.explainstream.stream.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.InJvmKafka;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka Streams' metrics in the Prometheus registry, on a real broker, with a window store and a
 * key-value store named like the statistics' ({@code stats-windows}, {@code stats-open-windows}):
 * the window store's RocksDB metrics are exported under the key-value stores' tag key, are
 * registered once however often the set of Kafka metrics changes, and leave with the store.
 */
@Tag("slow") // starts the in-JVM broker
class StreamsMetersTest {

    private static final String WINDOW_STORE = "stats-windows";
    private static final String KEY_VALUE_STORE = "stats-open-windows";
    private static final Duration REFRESH = Duration.ofMillis(100);

    @TempDir
    Path stateDir;

    @Test
    void aWindowStoresMetricsShareTheTagKeyAreRegisteredOnceAndLeaveWithTheStore() throws Exception {
        CountDownLatch processed = new CountDownLatch(2);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        try (InJvmKafka kafka = InJvmKafka.start()) {
            try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("first", 1, (short) 1), new NewTopic("second", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
            PrometheusMeterRegistry meters = StreamsMeters.prometheusRegistry();
            KafkaStreams streams = new KafkaStreams(topology(processed), properties(kafka));
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            try {
                streams.start();
                // A segmented store opens its first RocksDB segment, and registers its RocksDB metrics, on its first write.
                kafka.produce("first", List.<String[]>of(new String[] {"k", "v"}));
                await(() -> processed.getCount() == 1, "the first record is processed");
                StreamsMeters bound = StreamsMeters.bind(streams, meters, REFRESH);
                await(() -> !storeMeters(meters, WINDOW_STORE).isEmpty(), "the window store's meters are bound");
                assertFalse(storeMeters(meters, KEY_VALUE_STORE).isEmpty(), "and the key-value store's");

                // Kafka Streams adds metrics as it goes (here: a processor's own sensor, on the second record); the next
                // refresh binds them, and finds every other metric, the window store's among them, already bound.
                kafka.produce("second", List.<String[]>of(new String[] {"k", "v"}));
                await(() -> processed.getCount() == 0, "the second record is processed");
                await(() -> meters.getMeters().stream().anyMatch(m -> m.getId().getName().startsWith("kafka.stream.late")),
                        "a refresh binds the sensor added on the second record");
                Thread.sleep(5 * REFRESH.toMillis());
                String output = log.toString(StandardCharsets.UTF_8);
                assertFalse(output.contains("already registered"), "no meter registered twice:\n" + output);
                assertFalse(output.contains("Failed to bind meter"), output);

                streams.close(Duration.ofSeconds(30));
                await(() -> storeMeters(meters, KEY_VALUE_STORE).isEmpty(), "a refresh after the close removes the key-value store's meters");
                List<Meter> left = storeMeters(meters, WINDOW_STORE);
                assertEquals(0, left.size(), "the window store's meters leave with the store, not left behind reading NaN: " + left.size()
                        + " left, among them " + (left.isEmpty() ? "none" : left.get(0).getId()));
                bound.close();
            } finally {
                System.setErr(stderr);
                streams.close(Duration.ofSeconds(30));
            }
        }
    }

    /** Whether the window store's meters exist under the shared key is the point: the scrape has no second key. */
    @Test
    void theWindowStoresTagKeyIsRenamedInTheScrape() {
        PrometheusMeterRegistry meters = StreamsMeters.prometheusRegistry();
        meters.gauge("kafka.stream.state.num.entries.active.mem.table",
                io.micrometer.core.instrument.Tags.of("rocksdb.window.state.id", WINDOW_STORE), 1.0);
        String scrape = meters.scrape();
        assertTrue(scrape.contains("rocksdb_state_id=\"" + WINDOW_STORE + "\""), scrape);
        assertFalse(scrape.contains("rocksdb_window_state_id"), scrape);
    }

    private static List<Meter> storeMeters(PrometheusMeterRegistry meters, String store) {
        return meters.getMeters().stream().filter(m -> m.getId().getName().startsWith("kafka.stream.state"))
                .filter(m -> store.equals(m.getId().getTag("rocksdb.state.id"))).toList();
    }

    private Properties properties(InJvmKafka kafka) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "streams-meters-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        return props;
    }

    /** Reads both topics; each record is written to a window store and a key-value store. */
    private static Topology topology(CountDownLatch processed) {
        Topology topology = new Topology();
        topology.addSource("in", Serdes.String().deserializer(), Serdes.String().deserializer(), "first", "second");
        topology.addProcessor("store", () -> new Processor<String, String, Void, Void>() {
            private ProcessorContext<Void, Void> context;
            private WindowStore<String, String> windows;
            private KeyValueStore<String, String> values;

            @Override
            public void init(ProcessorContext<Void, Void> context) {
                this.context = context;
                windows = context.getStateStore(WINDOW_STORE);
                values = context.getStateStore(KEY_VALUE_STORE);
            }

            @Override
            public void process(Record<String, String> record) {
                windows.put(record.key(), record.value(), record.timestamp());
                values.put(record.key(), record.value());
                if (processed.getCount() == 1) {
                    context.metrics().addRateTotalSensor("late", "second-record", "arrival", Sensor.RecordingLevel.INFO).record();
                }
                processed.countDown();
            }
        }, "in");
        topology.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(WINDOW_STORE, Duration.ofHours(1), Duration.ofMinutes(1), false),
                Serdes.String(), Serdes.String()).withLoggingDisabled(), "store");
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(KEY_VALUE_STORE), Serdes.String(), Serdes.String())
                .withLoggingDisabled(), "store");
        return topology;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!condition.getAsBoolean()) {
            assertTrue(Instant.now().isBefore(deadline), "timed out waiting until " + what);
            Thread.sleep(50);
        }
    }
}
