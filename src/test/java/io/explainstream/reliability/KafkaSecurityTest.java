package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.SelfSignedTls;
import io.explainstream.testing.ServiceProcess;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's security settings pass through to every client the service makes (consumer, producer,
 * admin, restore consumer): shown on a broker that takes only SASL_PLAINTEXT with PLAIN, and on one
 * that takes only TLS. The secrets in them never reach the logs, even with the Kafka clients
 * logging at INFO.
 */
@Tag("slow")
class KafkaSecurityTest {

    @Test
    void theServiceAuthenticatesWithSaslPlainAndNeverLogsTheSecret(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.startWithSaslPlain();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Path config = CrashRecoveryTest.configFile(dir, kafka.clientSettings(), registry.url().toString(), "sasl");
            try (ServiceProcess run = ServiceProcess.start(List.of("run", "--config", config.toString()),
                    // The Kafka clients print their whole configuration at INFO: the grep covers it too.
                    List.of("-Dorg.slf4j.simpleLogger.log.org.apache.kafka=info"), Map.of(), dir.resolve("run.log"), Duration.ofMinutes(4))) {
                assertTrue(run.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), run.output());
                List<String[]> events = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    events.add(new String[] {"s-" + i, CrashRecoveryTest.event("s-" + i, i)});
                }
                kafka.produce("sasl-in", events);
                var out = kafka.readCommitted("sasl-out", records -> records.size() >= 10, Duration.ofSeconds(120));
                assertEquals(10, out.size(), "explained over SASL_PLAINTEXT");
                run.process().destroy();
                assertTrue(run.process().waitFor(90, TimeUnit.SECONDS), "stops on SIGTERM");
                String log = run.output();
                assertTrue(log.contains("sasl.jaas.config=[hidden]"), "the service's configuration is logged, masked");
                assertTrue(log.contains("sasl.jaas.config = [hidden]"), "the Kafka clients' configurations are logged, masked");
                assertTrue(log.contains("security.protocol = SASL_PLAINTEXT"), "the setting reached the Kafka clients");
                assertFalse(log.contains(InJvmKafka.SASL_PASSWORD), "the password is nowhere in the logs");
            }

            Map<String, String> wrongPassword = new HashMap<>(kafka.clientSettings());
            wrongPassword.putAll(InJvmKafka.saslPlainClientSettings(InJvmKafka.SASL_USER, "not-the-password"));
            wrongPassword.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "sasl-wrong",
                    "state.dir", dir.resolve("wrong").toString(), "ops.port", "-1"));
            ConfigException refused = assertThrows(ConfigException.class,
                    () -> ExplainService.start(ServiceConfig.of(wrongPassword), TestData.repo(), Clock.systemUTC()).close());
            System.out.println("wrong password: " + refused.getMessage());
            assertTrue(refused.getMessage().contains("Authentication failed"), refused.getMessage());
            assertFalse(refused.getMessage().contains("not-the-password"), refused.getMessage());
        }
    }

    @Test
    void theServiceTalksToABrokerThatTakesOnlyTls(@TempDir Path dir) throws Exception {
        SelfSignedTls tls = SelfSignedTls.create(dir);
        try (InJvmKafka kafka = InJvmKafka.startWithTls(tls);
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Map<String, String> settings = new HashMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "tls", "state.dir", dir.resolve("state").toString(),
                    "input.topic", "tls-in", "output.topic", "tls-out", "dlq.topic", "tls-dlq", "attribution.steps", "8", "batch.max.wait.ms", "200",
                    "ops.port", "-1"));
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC())) {
                List<String[]> events = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    events.add(new String[] {"t-" + i, CrashRecoveryTest.event("t-" + i, i)});
                }
                kafka.produce("tls-in", events);
                assertEquals(5, kafka.readCommitted("tls-out", records -> records.size() >= 5, Duration.ofSeconds(120)).size(), "explained over TLS");
            }

            Map<String, String> untrusting = new HashMap<>(settings);
            untrusting.keySet().removeIf(key -> key.startsWith("ssl.truststore"));
            untrusting.put("application.id", "tls-untrusting");
            ConfigException refused = assertThrows(ConfigException.class,
                    () -> ExplainService.start(ServiceConfig.of(untrusting), TestData.repo(), Clock.systemUTC()).close());
            System.out.println("untrusted certificate: " + refused.getMessage());
            assertTrue(refused.getMessage().contains("SSL handshake failed"), refused.getMessage());
        }
    }
}
