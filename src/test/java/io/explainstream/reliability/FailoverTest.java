package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scale-out and failover with the default settings: two instances with the same application.id
 * share a 4-partition input; one is killed with SIGKILL while a batch is in its engine. The
 * survivor takes over its partitions and every event is committed exactly once within two
 * minutes of the kill. With the old 10-minute transaction timeout the survivor sat in
 * REBALANCING for more than 8 minutes.
 */
@Tag("slow")
@RunsBeside
class FailoverTest {

    private static final int EVENTS = 160;
    private static final Duration RECOVERY_LIMIT = Duration.ofMinutes(2);

    /** Only what a deployment must set: where Kafka and the registry are, the topics, and a state folder per instance. */
    private static Path configFile(Path dir, Map<String, String> kafka, String registryUrl, String instance) throws IOException {
        Map<String, String> config = ServiceProcess.instanceSettings(kafka, registryUrl, "failover", dir.resolve("state-" + instance));
        config.put("topics.partitions", "4");
        // Batches long enough that the kill lands inside one, short enough that the survivor clears
        // the backlog quickly once it has the partitions.
        config.put("attribution.steps", "32");
        config.put("ops.port", "-1");
        return ServiceProcess.configFile(dir.resolve(instance + ".properties"), config, "failover test, instance " + instance);
    }

    /** The survivor's state changes and first batches, with their times: how long the failover took, and where. */
    private static String survivorLines(String log) {
        StringBuilder lines = new StringBuilder();
        int batches = 0;
        for (String line : log.split("\n")) {
            if (line.contains("State transition from") && line.contains("stream-client") || line.contains("batch done") && batches++ % 10 == 0) {
                lines.append("  ").append(line, 0, Math.min(line.length(), 200)).append('\n');
            }
        }
        return lines.toString();
    }

    @Test
    void killingOneOfTwoInstancesMidBatchLosesAndDuplicatesNothingAndRecoversWithinTwoMinutes(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            List<String> debug = List.of("-Dorg.slf4j.simpleLogger.log.io.explainstream.stream.topology.BatchingProcessor=debug");
            try (ServiceProcess first = ServiceProcess.start(List.of("run", "--config", configFile(dir, kafka.clientSettings(),
                    registry.url().toString(), "a").toString()), debug, Map.of(), dir.resolve("a.log"), Duration.ofMinutes(6))) {
                assertTrue(first.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), first.output());
                try (ServiceProcess second = ServiceProcess.start(List.of("run", "--config", configFile(dir, kafka.clientSettings(),
                        registry.url().toString(), "b").toString()), debug, Map.of(), dir.resolve("b.log"), Duration.ofMinutes(6))) {
                    assertTrue(second.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), second.output());
                    Thread producer = CrashRecoveryTest.produceSlowly(kafka.clientSettings(), "failover-in", EVENTS);
                    // Both instances work (the partitions are spread), then the first dies mid-batch.
                    assertTrue(second.awaitOutput("batch done", Duration.ofSeconds(120)), "the second instance explains:\n" + second.output());
                    assertTrue(first.awaitOutput("batch done", Duration.ofSeconds(120)), "the first instance explains:\n" + first.output());
                    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                    while (!"started".equals(CrashRecoveryTest.lastBatchLine(first.output())) && System.nanoTime() < deadline) {
                        Thread.sleep(2);
                    }
                    first.kill();
                    long killedAt = System.nanoTime();
                    assertEquals("started", CrashRecoveryTest.lastBatchLine(first.output()), "killed while a batch was in the engine");
                    producer.join(120_000);

                    List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("failover-out", records -> records.size() >= EVENTS,
                            RECOVERY_LIMIT.minus(Duration.ofNanos(System.nanoTime() - killedAt)));
                    double recoveredAfter = (System.nanoTime() - killedAt) / 1e9;
                    var explanations = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                            Explanation.class);
                    Map<String, Integer> perEvent = new TreeMap<>();
                    for (ConsumerRecord<byte[], byte[]> record : out) {
                        perEvent.merge(explanations.deserialize("failover-out", record.value()).getEventId(), 1, Integer::sum);
                    }
                    System.out.printf("failover: %d explanations committed %.1f s after the kill; the survivor after it:%n%s%n", out.size(),
                            recoveredAfter, survivorLines(second.output()));
                    assertEquals(EVENTS, perEvent.size(), "every event explained within " + RECOVERY_LIMIT + " of the kill (" + recoveredAfter + " s)");
                    assertTrue(perEvent.values().stream().allMatch(c -> c == 1), "none twice: " + perEvent);
                    assertEquals(EVENTS, out.size());
                    assertTrue(second.process().isAlive(), "the survivor runs on");
                }
            }
        }
    }
}
