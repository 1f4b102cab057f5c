package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The built-in registry's answers against Confluent's REST documentation
 * (https://docs.confluent.io/platform/current/schema-registry/develop/api.html), over real HTTP.
 */
class EmbeddedRegistryApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String V1 = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
    private static final String V2 = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
            + "{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}";
    private static final String INCOMPATIBLE = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"c\",\"type\":\"long\"}]}";

    private final HttpClient http = HttpClient.newHttpClient();
    private InMemorySchemaStore store;
    private EmbeddedSchemaRegistry registry;

    /** One answer: the HTTP status and the JSON body. */
    private record Answer(int status, JsonNode body) {
        int errorCode() {
            return body.path("error_code").asInt();
        }
    }

    @BeforeEach
    void start() throws Exception {
        store = new InMemorySchemaStore();
        registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0));
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void compatibilityMessagesComeOnlyWithVerbose() throws Exception {
        register("s", V1);
        Answer plain = call("POST", "/compatibility/subjects/s/versions/latest", schema(INCOMPATIBLE));
        assertEquals(200, plain.status());
        assertEquals("{\"is_compatible\":false}", plain.body().toString());
        Answer verbose = call("POST", "/compatibility/subjects/s/versions/latest?verbose=true", schema(INCOMPATIBLE));
        assertFalse(verbose.body().get("is_compatible").asBoolean());
        assertTrue(verbose.body().get("messages").size() > 0, verbose.body().toString());
        Answer compatible = call("POST", "/compatibility/subjects/s/versions/1?verbose=true", schema(V2));
        assertEquals("{\"is_compatible\":true,\"messages\":[]}", compatible.body().toString());
    }

    @Test
    void aSubjectWithoutItsOwnLevelAnswers40408UnlessDefaultToGlobal() throws Exception {
        register("s", V1);
        Answer none = call("GET", "/config/s", null);
        assertEquals(404, none.status());
        assertEquals(40408, none.errorCode());
        assertEquals("Subject 's' does not have subject-level compatibility configured", none.body().get("message").asText());
        assertEquals("BACKWARD", call("GET", "/config/s?defaultToGlobal=true", null).body().get("compatibilityLevel").asText());
        assertEquals("BACKWARD", call("GET", "/config", null).body().get("compatibilityLevel").asText());
        assertEquals("FULL", call("PUT", "/config/s", "{\"compatibility\":\"FULL\"}").body().get("compatibility").asText());
        assertEquals("FULL", call("GET", "/config/s", null).body().get("compatibilityLevel").asText());
    }

    @Test
    void deletingASubjectIsSoftFirstThenPermanent() throws Exception {
        int id1 = register("s", V1);
        register("s", V2);
        Answer early = call("DELETE", "/subjects/s?permanent=true", null);
        assertEquals(40405, early.errorCode(), early.body().toString());
        assertEquals("[1,2]", call("DELETE", "/subjects/s", null).body().toString());
        // Soft-deleted: not listed nor found, but records written with its ids stay readable.
        assertEquals("[]", call("GET", "/subjects", null).body().toString());
        assertEquals("[\"s\"]", call("GET", "/subjects?deleted=true", null).body().toString());
        assertEquals(40401, call("GET", "/subjects/s/versions", null).errorCode());
        assertEquals(40401, call("POST", "/subjects/s", schema(V1)).errorCode());
        assertEquals(200, call("GET", "/schemas/ids/" + id1, null).status());
        assertEquals(40404, call("DELETE", "/subjects/s", null).errorCode());
        assertEquals(40401, call("DELETE", "/subjects/nothing", null).errorCode());

        assertEquals("[1,2]", call("DELETE", "/subjects/s?permanent=true", null).body().toString());
        assertEquals(40403, call("GET", "/schemas/ids/" + id1, null).errorCode());
        assertEquals("[]", call("GET", "/subjects?deleted=true", null).body().toString());
        // A registry restarted on the same store remembers the delete.
        registry.close();
        registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0));
        assertEquals("[]", call("GET", "/subjects?deleted=true", null).body().toString());
        assertEquals(40403, call("GET", "/schemas/ids/" + id1, null).errorCode());
    }

    @Test
    void deletingAVersionIsSoftFirstThenPermanentAndItsNumberIsNotReused() throws Exception {
        int id1 = register("s", V1);
        register("s", V2);
        assertEquals(40407, call("DELETE", "/subjects/s/versions/1?permanent=true", null).errorCode());
        assertEquals("1", call("DELETE", "/subjects/s/versions/1", null).body().toString());
        assertEquals("[2]", call("GET", "/subjects/s/versions", null).body().toString());
        assertEquals(40402, call("GET", "/subjects/s/versions/1", null).errorCode());
        assertEquals(40406, call("DELETE", "/subjects/s/versions/1", null).errorCode());
        assertEquals(40402, call("DELETE", "/subjects/s/versions/7", null).errorCode());
        assertEquals(42202, call("DELETE", "/subjects/s/versions/one", null).errorCode());
        assertEquals(200, call("GET", "/schemas/ids/" + id1, null).status(), "a soft-deleted version's id still resolves");

        registry.close();
        registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0));
        assertEquals("[2]", call("GET", "/subjects/s/versions", null).body().toString(), "the soft delete survives a restart");
        assertEquals("1", call("DELETE", "/subjects/s/versions/1?permanent=true", null).body().toString());
        assertEquals(40403, call("GET", "/schemas/ids/" + id1, null).errorCode());
        assertEquals("2", call("DELETE", "/subjects/s/versions/latest", null).body().toString());
        call("PUT", "/config/s", "{\"compatibility\":\"NONE\"}");
        register("s", V1);
        assertEquals(3, call("GET", "/subjects/s/versions/latest", null).body().get("version").asInt(), "version numbers continue");
    }

    @Test
    void theSubjectsAndVersionsOfAnIdAndTheSchemaTypesAreListed() throws Exception {
        int id = register("a-value", V1);
        assertEquals(id, register("b-value", V1));
        assertEquals("[{\"subject\":\"a-value\",\"version\":1},{\"subject\":\"b-value\",\"version\":1}]",
                call("GET", "/schemas/ids/" + id + "/versions", null).body().toString());
        Answer unknown = call("GET", "/schemas/ids/999/versions", null);
        assertEquals(404, unknown.status());
        assertEquals(40403, unknown.errorCode());
        assertEquals("[\"AVRO\"]", call("GET", "/schemas/types", null).body().toString());
    }

    private int register(String subject, String schema) throws Exception {
        Answer answer = call("POST", "/subjects/" + subject + "/versions", schema(schema));
        assertEquals(200, answer.status(), answer.body().toString());
        return answer.body().get("id").asInt();
    }

    private static String schema(String schema) {
        return JSON.createObjectNode().put("schema", schema).toString();
    }

    private Answer call(String method, String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(registry.url() + path))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), JSON.readTree(response.body()));
    }
}
