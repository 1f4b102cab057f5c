package io.explainstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The service against the real images of docker-compose.yml: Apache Kafka and Confluent Schema
 * Registry. Runs wherever Docker runs; skipped on the build machines, which have none (the same
 * paths are tested there against the in-JVM broker and the built-in registry).
 */
@Testcontainers(disabledWithoutDocker = true)
@Tag("slow")
class ConfluentImagesContainerTest {

    private static final Network NETWORK = Network.newNetwork();

    @Container
    private static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.1").withNetwork(NETWORK).withNetworkAliases("kafka")
            .withListener("kafka:19092");

    @Container
    private static final GenericContainer<?> REGISTRY = new GenericContainer<>("confluentinc/cp-schema-registry:7.9.0")
            .withNetwork(NETWORK)
            .withExposedPorts(8081)
            .withEnv("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
            .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
            .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
            .dependsOn(KAFKA);

    @TempDir
    Path state;

    @Test
    void explanationsAreRegisteredInConfluentsRegistryAndReadBack() throws Exception {
        String registryUrl = "http://" + REGISTRY.getHost() + ":" + REGISTRY.getMappedPort(8081);
        ServiceConfig config = ServiceConfig.of(Map.of("bootstrap.servers", KAFKA.getBootstrapServers(), "schema.registry.url", registryUrl,
                "state.dir", state.toString(), "attribution.steps", "8", "batch.max.wait.ms", "200", "ops.port", "-1"));
        try (ExplainService service = ExplainService.start(config, TestData.repo(), Clock.systemUTC())) {
            Properties producerProps = new Properties();
            producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 5; i++) {
                    producer.send(new ProducerRecord<>("llm-interactions", "c-" + i, "{\"event_id\":\"c-" + i + "\",\"timestamp\":"
                            + Instant.now().toEpochMilli() + ",\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"response\":\"there was a cat\"}"));
                }
            }
            Properties consumerProps = new Properties();
            consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers());
            consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "container-test");
            consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registryUrl));
            var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
            List<Explanation> explanations = new ArrayList<>();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                consumer.subscribe(List.of("explanations"));
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (explanations.size() < 5 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                        explanations.add(deserializer.deserialize(record.topic(), record.value()));
                        assertEquals(explanations.get(explanations.size() - 1).getEventId(), new String(record.key(), StandardCharsets.UTF_8));
                    }
                }
            }
            assertEquals(5, explanations.size());
            assertTrue(client.subjects().contains("explanations-value"), "registered in Confluent's registry: " + client.subjects());
        }
    }
}
