package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.embedded.EmbeddedKafkaBroker;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker, a real process (the embedded broker), is stopped for 15 s and started again while
 * events flow. The service is not touched: it must recover by itself and explain every event once.
 */
@Tag("slow")
class BrokerOutageTest {

    private static final int EVENTS = 120;

    @Test
    void theServiceRidesOutABrokerRestartAndExplainsEveryEventOnce(@TempDir Path dir) throws Exception {
        Path brokerDir = dir.resolve("broker");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(brokerDir);
        String bootstrap = broker.bootstrapServers();
        try (EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            ServiceConfig config = ServiceConfig.of(Map.ofEntries(Map.entry("bootstrap.servers", bootstrap),
                    Map.entry("schema.registry.url", registry.url().toString()), Map.entry("application.id", "outage"),
                    Map.entry("state.dir", dir.resolve("state").toString()), Map.entry("input.topic", "outage-in"),
                    Map.entry("output.topic", "outage-out"), Map.entry("dlq.topic", "outage-dlq"), Map.entry("topics.partitions", "2"),
                    Map.entry("attribution.steps", "8"), Map.entry("batch.max.events", "8"), Map.entry("batch.max.wait.ms", "200"),
                    Map.entry("ops.port", "-1")));
            Set<KafkaStreams.State> statesAfterOutage = new ConcurrentSkipListSet<>();
            try (ExplainService service = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
                Thread producer = produceThroughOutage(bootstrap);
                List<ConsumerRecord<byte[], byte[]>> before = InJvmKafka.readCommitted(Map.of("bootstrap.servers", bootstrap), "outage-out",
                        records -> records.size() >= 8, Duration.ofSeconds(120));
                assertTrue(before.size() >= 8, "explaining before the outage");

                Thread sampler = StateSampler.start(service, statesAfterOutage);
                broker.close();
                assertTrue(!EmbeddedKafkaBroker.accepts(bootstrap), "the broker is down");
                Thread.sleep(15_000); // events keep arriving: the producer buffers and retries them
                broker = EmbeddedKafkaBroker.start(brokerDir);
                assertEquals(bootstrap, broker.bootstrapServers(), "the broker comes back on its own port");

                List<ConsumerRecord<byte[], byte[]>> out = InJvmKafka.readCommitted(Map.of("bootstrap.servers", bootstrap), "outage-out",
                        records -> countsByKey(records).size() >= EVENTS, Duration.ofSeconds(240));
                producer.join(60_000);
                sampler.interrupt();
                sampler.join();
                Map<String, Integer> counts = countsByKey(out);
                assertEquals(EVENTS, counts.size(), "every event explained (0 lost)");
                assertEquals(EVENTS, out.size(), "none explained twice: " + counts);
                System.out.println("states seen from the outage on: " + statesAfterOutage);
                assertEquals(KafkaStreams.State.RUNNING, service.state(), "the service recovered by itself");
                assertTrue(Set.of(KafkaStreams.State.RUNNING, KafkaStreams.State.REBALANCING).containsAll(statesAfterOutage),
                        "never stopped or failed: " + statesAfterOutage);
            }
        } finally {
            broker.close();
        }
    }

    /**
     * Sends the events in bursts of 4, one second apart (about 30 s in all), from a thread of its
     * own: during the outage its sends wait for the broker, as a real application's would.
     */
    private static Thread produceThroughOutage(String bootstrap) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 300_000);
        Thread producer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < EVENTS; i++) {
                    String id = "o-" + i;
                    out.send(new ProducerRecord<>("outage-in", id.getBytes(StandardCharsets.UTF_8),
                            CrashRecoveryTest.event(id, i).getBytes(StandardCharsets.UTF_8)));
                    if (i % 4 == 3) {
                        Thread.sleep(1000);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "test-producer");
        producer.start();
        return producer;
    }

    /** How many times each key occurs among the records. */
    private static Map<String, Integer> countsByKey(List<ConsumerRecord<byte[], byte[]>> records) {
        Map<String, Integer> counts = new TreeMap<>();
        records.forEach(record -> counts.merge(new String(record.key(), StandardCharsets.UTF_8), 1, Integer::sum));
        return counts;
    }
}
