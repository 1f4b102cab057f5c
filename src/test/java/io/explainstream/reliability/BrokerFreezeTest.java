package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.embedded.EmbeddedKafkaBroker;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.StandardError;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker hangs (its process is paused with SIGSTOP, as a paused VM or a stalled disk would
 * leave it): its connections stay open, and the clients wait in silence until their timeouts. The
 * service must say so within seconds, say when the broker answers again, and go on explaining
 * every event once. Before, its log had nothing until a client gave up.
 */
@Tag("slow")
class BrokerFreezeTest {

    private static final String GAUGE = "explainstream.broker.unanswered.seconds";

    @Test
    void aBrokerThatHangsIsWarnedOfAndTheServiceGoesOnWhenItAnswers(@TempDir Path dir) throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("broker"));
        String bootstrap = broker.bootstrapServers();
        Map<String, String> clients = Map.of("bootstrap.servers", bootstrap);
        try (EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            ServiceConfig config = ServiceConfig.of(Map.ofEntries(Map.entry("bootstrap.servers", bootstrap),
                    Map.entry("schema.registry.url", registry.url().toString()), Map.entry("application.id", "freeze"),
                    Map.entry("state.dir", dir.resolve("state").toString()), Map.entry("input.topic", "freeze-in"),
                    Map.entry("output.topic", "freeze-out"), Map.entry("dlq.topic", "freeze-dlq"), Map.entry("topics.partitions", "2"),
                    Map.entry("attribution.steps", "8"), Map.entry("batch.max.events", "4"), Map.entry("batch.max.wait.ms", "200"),
                    Map.entry("ops.port", "-1")));
            try (ExplainService service = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                produce(bootstrap, 0, 4);
                assertEquals(4, InJvmKafka.readCommitted(clients, "freeze-out", records -> records.size() >= 4, Duration.ofSeconds(120)).size());
                assertEquals(0.0, service.metrics().gauge(GAUGE), "the broker answers");

                double[] longest = {0};
                String log = StandardError.during(() -> {
                    signal(broker.pid(), "STOP");
                    try {
                        awaitTrue(() -> {
                            longest[0] = Math.max(longest[0], service.metrics().gauge(GAUGE));
                            return longest[0] >= 12;
                        }, Duration.ofSeconds(40));
                    } finally {
                        signal(broker.pid(), "CONT");
                    }
                    awaitTrue(() -> service.metrics().gauge(GAUGE) == 0.0, Duration.ofSeconds(60));
                });
                log.lines().filter(line -> line.contains("the Kafka cluster")).forEach(System.out::println);
                assertTrue(longest[0] >= 12, "the metric counts the silence: " + longest[0]);
                assertTrue(log.contains("WARN") && log.contains("the Kafka cluster at " + bootstrap + " has not answered for 1"), log);
                assertTrue(log.contains("the Kafka cluster at " + bootstrap + " answers again, after "), log);

                produce(bootstrap, 4, 4);
                List<ConsumerRecord<byte[], byte[]>> out = InJvmKafka.readCommitted(clients, "freeze-out", records -> records.size() >= 8,
                        Duration.ofSeconds(180));
                Map<String, Integer> counts = new TreeMap<>();
                out.forEach(record -> counts.merge(new String(record.key(), StandardCharsets.UTF_8), 1, Integer::sum));
                assertEquals(8, counts.size(), "every event explained: " + counts);
                assertEquals(8, out.size(), "none twice: " + counts);
            }
        } finally {
            signal(broker.pid(), "CONT");
            broker.close();
        }
    }

    private static void produce(String bootstrap, int first, int count) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", bootstrap),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = first; i < first + count; i++) {
                producer.send(new ProducerRecord<>("freeze-in", ("f-" + i).getBytes(StandardCharsets.UTF_8),
                        CrashRecoveryTest.event("f-" + i, i).getBytes(StandardCharsets.UTF_8))).get();
            }
        }
    }

    private static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
            kill.waitFor(10, TimeUnit.SECONDS);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitTrue(BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }
}
