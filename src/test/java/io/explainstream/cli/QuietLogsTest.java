package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.ServiceProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A start prints nothing a user cannot act on: real command lines in JVMs of their own, their
 * whole output grepped for the warnings Kafka prints by default. (The demo's run is checked the
 * same way in {@code DemoCommandTest}.)
 */
@Tag("slow")
class QuietLogsTest {

    @Test
    void aReplayDryRunPrintsItsCountsWithoutOffsetWarnings(@TempDir Path log) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("logged", 3, (short) 1).configs(Map.of("retention.ms", "-1")))).all().get(30, TimeUnit.SECONDS);
            }
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            long inRange = Instant.parse("2026-11-20T10:00:00Z").toEpochMilli();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 30; i++) {
                    producer.send(new ProducerRecord<>("logged", i % 3, inRange + i, "r" + i, "{}")).get();
                }
            }
            try (ServiceProcess replay = ServiceProcess.start(List.of("replay", "--from", "2026-11-20", "--to", "2026-11-21", "--input-topic", "logged",
                    "--dry-run", "--set", "bootstrap.servers=" + kafka.bootstrapServers(), "--set", "schema.registry.url=http://127.0.0.1:1"),
                    List.of(), Map.of(), log.resolve("replay.log"), Duration.ofSeconds(120))) {
                assertTrue(replay.process().waitFor(110, TimeUnit.SECONDS), "the dry run ends");
                String output = replay.output();
                assertEquals(0, replay.process().exitValue(), output);
                assertTrue(output.contains("30 events in range"), output);
                assertFalse(output.contains("Not updating last stable offset"), output);
                assertFalse(output.contains(" WARN "), "no warnings at all in a dry run:\n" + output);
            }
        }
    }
}
