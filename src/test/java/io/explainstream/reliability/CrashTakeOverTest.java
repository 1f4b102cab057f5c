package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
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
 * Two instances share traffic they explain with ease (10 events a second for 12 s at 8 steps); one
 * is killed (SIGKILL). Its partitions reach the survivor with events that waited for the group to
 * notice (the session timeout, 10 s) or, when the dead instance's open transaction held their
 * offsets, for that transaction to time out. Backlog control must see a backlog drained, not one it
 * cannot keep up with: every event explained once, with the configured method. When the lag was
 * measured as one series, the jump from the survivor's own lag of a fraction of a second to the new
 * partitions' 12 s read as growth of 1.7 s per s, and 31 of the 120 events went to the cheap method.
 *
 * <p>The lag limit is 16 s: the wait, about 10 to 13 s, is over half of it and under it. The
 * transaction timeout is 10 s, and the broker checks for expired transactions every second, so that
 * either way of waiting takes about as long: with the service's 60 s timeout, a kill that landed
 * while the transaction held offsets made the events wait 65 s, and the survivor then stepped down,
 * as it should for events five times over the limit (seen once in a full run).
 */
@Tag("slow")
@RunsBeside
class CrashTakeOverTest {

    private static final int EVENTS = 120;

    @Test
    void theSurvivorExplainsTheDeadInstancesWaitingEventsWithTheConfiguredMethod(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start(Map.of("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000"));
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            List<Path> configs = List.of(configFile(dir, kafka, registry, "a"), configFile(dir, kafka, registry, "b"));
            try (ServiceProcess survivor = run(configs.get(0), dir.resolve("a.log"));
                    ServiceProcess killed = run(configs.get(1), dir.resolve("b.log"))) {
                assertTrue(survivor.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), survivor.output());
                assertTrue(killed.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), killed.output());
                Thread producer = CrashRecoveryTest.produceSlowly(kafka.clientSettings(), "takeover-in", EVENTS);
                assertTrue(survivor.awaitOutput("batch done", Duration.ofSeconds(60)), "both explain:\n" + survivor.output());
                assertTrue(killed.awaitOutput("batch done", Duration.ofSeconds(60)), "both explain:\n" + killed.output());
                Thread.sleep(3000);
                killed.kill();
                producer.join(120_000);
                var explanations = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                        Explanation.class);
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("takeover-out", records -> records.size() >= EVENTS,
                        Duration.ofSeconds(120));
                Map<String, Integer> perEvent = new TreeMap<>();
                Map<String, Integer> tiers = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    Explanation explanation = explanations.deserialize("takeover-out", record.value());
                    perEvent.merge(explanation.getEventId(), 1, Integer::sum);
                    tiers.merge(explanation.getTier() + "/" + explanation.getTierReason(), 1, Integer::sum);
                }
                survivor.output().lines().filter(line -> line.contains("audit level")).forEach(System.out::println);
                System.out.println("take-over: " + tiers + " of " + out.size() + " explanations");
                assertEquals(EVENTS, perEvent.size(), "every event explained");
                assertEquals(EVENTS, out.size(), "none twice");
                assertEquals(Map.of("FULL/SAMPLED", EVENTS), tiers, "the configured method for every event:\n" + survivor.output().lines()
                        .filter(line -> line.contains("audit level")).toList());
            }
        }
    }

    /**
     * Four partitions, 8 steps (the survivor alone explains tens of events a second), a 16 s lag limit
     * (a dwell time of 2.7 s) and a 10 s transaction timeout (batches of at most 5 s).
     */
    private static Path configFile(Path dir, InJvmKafka kafka, EmbeddedSchemaRegistry registry, String instance) throws java.io.IOException {
        Map<String, String> config = ServiceProcess.instanceSettings(kafka.clientSettings(), registry.url().toString(), "takeover",
                dir.resolve("state-" + instance));
        config.put("topics.partitions", "4");
        config.put("attribution.steps", "8");
        config.put("audit.max.lag.ms", "16000");
        config.put("batch.max.seconds", "5");
        config.put("producer.transaction.timeout.ms", "10000");
        config.put("ops.port", "-1");
        return ServiceProcess.configFile(dir.resolve(instance + ".properties"), config, "take-over test, instance " + instance);
    }

    private static ServiceProcess run(Path config, Path log) throws java.io.IOException {
        return ServiceProcess.start(List.of("run", "--config", config.toString()),
                List.of("-Dorg.slf4j.simpleLogger.log.io.explainstream.stream.topology.BatchingProcessor=debug"), Map.of(), log, Duration.ofMinutes(5));
    }
}
