package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.SelfSignedTls;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryTlsAuthRetryTest {

    @Test
    void basicAuthOverHttpsWithASelfSignedCertificate(@TempDir Path dir) throws Exception {
        SelfSignedTls tls = SelfSignedTls.create(dir);
        EmbeddedSchemaRegistry.Settings settings = EmbeddedSchemaRegistry.Settings.loopback(0)
                .withBasicAuth("dashboard", "s3cret-pass").withTls(tls.keystore(), tls.password());
        try (EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(new InMemorySchemaStore(), settings)) {
            assertEquals("https", registry.url().getScheme());
            RegistryConfig config = RegistryConfig.fromProperties(Map.of(
                    RegistryConfig.URL, registry.url().toString(),
                    RegistryConfig.USER_INFO, "dashboard:s3cret-pass",
                    RegistryConfig.TRUSTSTORE, tls.truststore().toString(),
                    RegistryConfig.TRUSTSTORE_PASSWORD, tls.password()));
            SchemaRegistryClient client = new SchemaRegistryClient(config);
            int id = client.register("explanations-value", Explanation.getClassSchema());
            assertEquals(Explanation.getClassSchema(), client.schemaById(id));
            assertFalse(config.toString().contains("s3cret-pass"), "the password is masked: " + config);
            assertFalse(config.toString().contains(tls.password()), "the truststore password is masked: " + config);

            SchemaRegistryClient wrongPassword = new SchemaRegistryClient(config.withBasicAuth("dashboard", "guess"));
            RegistryException unauthorized = assertThrows(RegistryException.class, () -> wrongPassword.subjects());
            assertEquals(401, unauthorized.status());
            assertFalse(unauthorized.getMessage().contains("guess"), unauthorized.getMessage());

            SchemaRegistryClient untrusting = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())
                    .withBasicAuth("dashboard", "s3cret-pass").withRetries(0, Duration.ofMillis(1)));
            RegistryException handshake = assertThrows(RegistryException.class, untrusting::subjects);
            assertTrue(handshake.getMessage().contains("SSLHandshakeException"), handshake.getMessage());
        }
    }

    @Test
    void serverErrorsAreRetriedWithBackoffAndClientErrorsAreNot() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer flaky = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        flaky.createContext("/subjects", exchange -> {
            int call = calls.incrementAndGet();
            byte[] body = (call <= 2 ? "{\"error_code\":50003,\"message\":\"busy\"}" : "[\"a-value\"]").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(call <= 2 ? 503 : 200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        flaky.createContext("/schemas", exchange -> {
            calls.incrementAndGet();
            byte[] body = "{\"error_code\":40403,\"message\":\"Schema 7 not found\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(404, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        flaky.start();
        try {
            String url = "http://127.0.0.1:" + flaky.getAddress().getPort();
            SchemaRegistryClient patient = new SchemaRegistryClient(RegistryConfig.of(url).withRetries(3, Duration.ofMillis(10)));
            assertEquals(java.util.List.of("a-value"), patient.subjects());
            assertEquals(3, calls.get(), "two 503 answers, then success");

            calls.set(0);
            SchemaRegistryClient impatient = new SchemaRegistryClient(RegistryConfig.of(url).withRetries(1, Duration.ofMillis(10)));
            RegistryException exhausted = assertThrows(RegistryException.class, impatient::subjects);
            assertTrue(exhausted.getMessage().contains("answered 503 (after 2 attempts)"), exhausted.getMessage());

            calls.set(0);
            RegistryException notFound = assertThrows(RegistryException.class, () -> patient.schemaById(7));
            assertEquals(1, calls.get(), "4xx is not retried");
            assertEquals(40403, notFound.errorCode());
            assertTrue(notFound.getMessage().endsWith("answered 404 (error 40403): Schema 7 not found"), notFound.getMessage());
        } finally {
            flaky.stop(0);
        }
    }

    @Test
    void configurationErrorsNameTheKey() {
        var missing = assertThrows(IllegalArgumentException.class, () -> RegistryConfig.fromProperties(Map.of()));
        assertEquals("schema.registry.url is not set", missing.getMessage());
        var credentialsInUrl = assertThrows(IllegalArgumentException.class,
                () -> RegistryConfig.fromProperties(Map.of(RegistryConfig.URL, "http://user:pw@host:8081")));
        assertFalse(credentialsInUrl.getMessage().contains("pw"), credentialsInUrl.getMessage());
        var badUserInfo = assertThrows(IllegalArgumentException.class,
                () -> RegistryConfig.fromProperties(Map.of(RegistryConfig.URL, "http://h:1", RegistryConfig.USER_INFO, "nocolon")));
        assertFalse(badUserInfo.getMessage().contains("nocolon"), badUserInfo.getMessage());
        var retries = assertThrows(IllegalArgumentException.class,
                () -> RegistryConfig.fromProperties(Map.of(RegistryConfig.URL, "http://h:1", RegistryConfig.MAX_RETRIES, "many")));
        assertEquals("schema.registry.max.retries = 'many' is not an integer", retries.getMessage());
        assertEquals(SubjectNameStrategy.TOPIC_RECORD_NAME,
                SubjectNameStrategy.parse("value.subject.name.strategy", "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"));
    }
}
