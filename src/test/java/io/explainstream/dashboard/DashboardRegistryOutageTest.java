package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.InMemorySchemaStore;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.FreePort;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * An explanation the dashboard reads while the schema registry is down is not dropped as
 * unreadable: it is read again, and shows, once the registry answers.
 */
@RunsBeside
@Tag("slow")
class DashboardRegistryOutageTest {

    @Test
    void aRecordReadDuringARegistryOutageShowsOnceTheRegistryIsBack() throws Exception {
        int port = FreePort.onLoopback();
        InMemorySchemaStore schemas = new InMemorySchemaStore();
        try (InJvmKafka kafka = InJvmKafka.start()) {
            try (EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(schemas, EmbeddedSchemaRegistry.Settings.loopback(port));
                    KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                ConfluentAvroSerializer<Explanation> serializer = new ConfluentAvroSerializer<>(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                        SubjectNameStrategy.TOPIC_NAME, true, false);
                Explanation explanation = DashboardApiTest.explanation("during-outage", "m1", "shop", -0.1, 0.0, "▁ball");
                producer.send(new ProducerRecord<>("explanations", "during-outage".getBytes(StandardCharsets.UTF_8),
                        serializer.serialize("explanations", explanation))).get();
            }
            // The registry is down: the dashboard starts and meets the record it cannot decode yet.
            RegistryConfig down = RegistryConfig.of("http://127.0.0.1:" + port).withRetries(0, Duration.ofMillis(10));
            try (Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", null, null, "127.0.0.1", 0, 10, null, 0.05, null),
                    kafka.clientSettings(), down)) {
                Thread.sleep(5000);
                assertEquals(404, status(dashboard, "/api/events/during-outage"), "not decodable while the registry is down");
                com.fasterxml.jackson.databind.JsonNode info = info(dashboard);
                assertEquals("unavailable", info.get("registry").asText(), "/api/info says so, and the page with it: " + info);
                assertTrue(info.get("registry_unavailable_since").isTextual(), info.toString());
                try (EmbeddedSchemaRegistry back = EmbeddedSchemaRegistry.start(schemas, EmbeddedSchemaRegistry.Settings.loopback(port))) {
                    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                    while (status(dashboard, "/api/events/during-outage") != 200 && System.nanoTime() < deadline) {
                        Thread.sleep(200);
                    }
                    assertEquals(200, status(dashboard, "/api/events/during-outage"), "read again once the registry answers");
                    assertEquals("answering", info(dashboard).get("registry").asText());
                }
            }
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode info(Dashboard dashboard) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(dashboard.url() + "api/info")).build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    private static int status(Dashboard dashboard, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(dashboard.url() + path.substring(1))).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
