package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.explainstream.TestData;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.BuiltInRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Explanation schema is registered and looked up as published in schemas/Explanation.avsc, and
 * the service can check its output subject at start: over real HTTP against the built-in registry.
 */
class OutputSubjectCheckTest {

    private static final String SUBJECT = "explanations-value";
    /** A registry per test: the tests expect an empty subject, register incompatible schemas, and one stops the registry. */
    @RegisterExtension
    final BuiltInRegistry registry = new BuiltInRegistry();

    private ConfluentAvroSerializer<Explanation> serializer(boolean autoRegister) {
        return new ConfluentAvroSerializer<>(registry.client(), SubjectNameStrategy.TOPIC_NAME, autoRegister, false);
    }

    @Test
    void aSubjectRegisteredFromThePublishedFileIsFoundWithoutAutoRegistration() throws Exception {
        String published = Files.readString(TestData.repo().resolve("schemas/Explanation.avsc"));
        assertFalse(published.contains("avro.java.string"), "the contract has no Java properties");
        assertTrue(Explanation.getClassSchema().toString().contains("avro.java.string"), "the generated class's schema has them");
        int id = post("/subjects/" + SUBJECT + "/versions", published).get("id").asInt();

        assertEquals(id, serializer(false).checkSubject("explanations", Explanation.getClassSchema()));
        byte[] bytes = serializer(false).serialize("explanations", SampleRecords.explanation("e-1"));
        assertEquals(id, ByteBuffer.wrap(bytes, 1, 4).getInt());
        // Auto-registration of the same contract finds the same version instead of adding one.
        assertEquals(id, new SchemaRegistryClient(registry.client().config()).register(SUBJECT, Explanation.getClassSchema()));
        assertEquals(1, post("/subjects/" + SUBJECT, published).get("version").asInt());
    }

    @Test
    void aVersionThatDiffersOnlyInDocsIsFoundByCanonicalForm() throws Exception {
        ObjectNode withoutDocs = (ObjectNode) new ObjectMapper().readTree(Files.readString(TestData.repo().resolve("schemas/Explanation.avsc")));
        removeDocs(withoutDocs);
        int id = post("/subjects/" + SUBJECT + "/versions", withoutDocs.toString()).get("id").asInt();
        assertEquals(id, serializer(false).checkSubject("explanations", Explanation.getClassSchema()));
    }

    @Test
    void withoutAutoRegistrationAMissingSubjectFailsTheCheckWithTheRegistrysMessage() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> serializer(false).checkSubject("explanations", Explanation.getClassSchema()));
        assertTrue(error.getMessage().startsWith("output subject explanations-value cannot be used: auto.register.schemas=false, so "
                + "io.explainstream.schema.Explanation must be registered under it beforehand, as published in schemas/Explanation.avsc: "), error.getMessage());
        assertTrue(error.getMessage().endsWith("answered 404 (error 40401): Subject 'explanations-value' not found."), error.getMessage());
    }

    @Test
    void withoutAutoRegistrationAnotherSchemaUnderTheSubjectFailsTheCheck() throws Exception {
        post("/subjects/" + SUBJECT + "/versions", "{\"type\":\"record\",\"name\":\"Explanation\",\"namespace\":\"io.explainstream.schema\","
                + "\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}");
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> serializer(false).checkSubject("explanations", Explanation.getClassSchema()));
        assertTrue(error.getMessage().contains("(error 40403): Schema not found; none of versions [1] of subject explanations-value has the "
                + "canonical form of io.explainstream.schema.Explanation"), error.getMessage());
    }

    @Test
    void anIncompatibleSubjectFailsTheCheckWith409() throws Exception {
        post("/subjects/" + SUBJECT + "/versions", "{\"type\":\"record\",\"name\":\"Explanation\",\"namespace\":\"io.explainstream.schema\","
                + "\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}");
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> serializer(true).checkSubject("explanations", Explanation.getClassSchema()));
        assertTrue(error.getMessage().startsWith("output subject explanations-value cannot be used: the registry refuses to register "
                + "io.explainstream.schema.Explanation under it (auto.register.schemas=true): "), error.getMessage());
        assertTrue(error.getMessage().contains("answered 409 (error 409): Schema being registered is incompatible"), error.getMessage());
    }

    @Test
    void anOutageDoesNotFailTheCheck() {
        SchemaRegistryClient impatient = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()).withRetries(0, Duration.ofMillis(10)));
        registry.stop();
        var serializer = new ConfluentAvroSerializer<Explanation>(impatient, SubjectNameStrategy.TOPIC_NAME, false, false);
        assertEquals(-1, serializer.checkSubject("explanations", Explanation.getClassSchema()), "an outage: the service starts and waits");
    }

    /** Apicurio's ccompat API answers a refusal with "error_code": 0 (it cannot run here: no Docker); the HTTP status stands in. */
    @Test
    void anErrorCodeOfZeroIsReportedAsTheHttpStatus() throws IOException {
        HttpServer apicurio = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        apicurio.createContext("/", exchange -> {
            byte[] body = "{\"error_code\":0,\"message\":\"Incompatible artifact: explanations-value [io.explainstream.schema.Explanation]\"}"
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(409, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        apicurio.start();
        try {
            SchemaRegistryClient apicurioClient = new SchemaRegistryClient(RegistryConfig.of("http://127.0.0.1:" + apicurio.getAddress().getPort()));
            RegistryException refused = assertThrows(RegistryException.class, () -> apicurioClient.register(SUBJECT, Explanation.getClassSchema()));
            assertEquals(409, refused.errorCode());
            assertTrue(refused.getMessage().endsWith("answered 409 (error 409): Incompatible artifact: explanations-value "
                    + "[io.explainstream.schema.Explanation]"), refused.getMessage());
        } finally {
            apicurio.stop(0);
        }
    }

    @Test
    void thePublishedFormDropsOnlyTheJavaProperties() throws Exception {
        Schema file = new Schema.Parser().parse(TestData.repo().resolve("schemas/Explanation.avsc").toFile());
        assertEquals(file.toString(), PublishedSchema.of(Explanation.getClassSchema()).toString());
    }

    private static void removeDocs(JsonNode node) {
        if (node.isObject()) {
            ((ObjectNode) node).remove("doc");
        }
        node.forEach(OutputSubjectCheckTest::removeDocs);
    }

    private JsonNode post(String path, String schema) throws Exception {
        String body = new ObjectMapper().createObjectNode().put("schema", schema).toString();
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(registry.url() + path))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return new ObjectMapper().readTree(response.body());
    }
}
