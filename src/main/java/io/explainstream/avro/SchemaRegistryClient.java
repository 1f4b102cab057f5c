package io.explainstream.avro;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the Confluent Schema Registry REST API over {@code java.net.http}: register a
 * schema, look one up, fetch one by id, read a subject's latest version, test compatibility.
 * Schemas by id and ids by (subject, schema) are cached; both never change once assigned.
 * Connection errors and 5xx answers are retried with exponential backoff; 4xx answers surface the
 * registry's own message. Credentials are sent in a header and never logged.
 */
public final class SchemaRegistryClient {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    /** One version of a subject. */
    public record SchemaVersion(String subject, int version, int id, Schema schema) {}

    /** The answer of a compatibility test, with the registry's reasons when incompatible. */
    public record Compatibility(boolean compatible, List<String> messages) {}

    private record SubjectSchema(String subject, Schema schema) {}

    private final RegistryConfig config;
    private final HttpClient http;
    private final String authorization;
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
    private final Map<SubjectSchema, Integer> idsBySubjectSchema = new ConcurrentHashMap<>();

    public SchemaRegistryClient(RegistryConfig config) {
        this.config = config;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(config.requestTimeout());
        if (config.truststore() != null) {
            builder.sslContext(sslContext(config));
        }
        this.http = builder.build();
        this.authorization = config.username() == null ? null
                : "Basic " + Base64.getEncoder().encodeToString((config.username() + ":" + config.password()).getBytes(StandardCharsets.UTF_8));
    }

    public RegistryConfig config() {
        return config;
    }

    /**
     * Registers a schema under a subject (idempotent) and returns its id. The schema is sent as
     * published ({@link PublishedSchema}), with {@code normalize=true} so that registries that
     * support it compare canonical forms.
     */
    public int register(String subject, Schema schema) {
        return idsBySubjectSchema.computeIfAbsent(new SubjectSchema(subject, schema), key -> {
            JsonNode answer = send("POST", "/subjects/" + encode(subject) + "/versions?normalize=true", schemaBody(schema));
            int id = answer.path("id").asInt(-1);
            schemasById.putIfAbsent(id, schema);
            return id;
        });
    }

    /**
     * The id of a schema already registered under a subject; a {@link RegistryException} (404)
     * when it is not. The schema is looked up as published, with {@code normalize=true}; a
     * registry that still answers 404 (one that compares texts) is asked for the subject's
     * versions, and the newest with the same Avro canonical form is the one: its id frames bytes
     * that every reader of the subject decodes exactly.
     */
    public int lookup(String subject, Schema schema) {
        return idsBySubjectSchema.computeIfAbsent(new SubjectSchema(subject, schema), key -> {
            int id;
            try {
                id = send("POST", "/subjects/" + encode(subject) + "?normalize=true", schemaBody(schema)).path("id").asInt(-1);
            } catch (RegistryException notFound) {
                if (notFound.status() != 404) {
                    throw notFound;
                }
                id = idByCanonicalForm(subject, schema, notFound);
            }
            schemasById.putIfAbsent(id, schema);
            return id;
        });
    }

    private int idByCanonicalForm(String subject, Schema schema, RegistryException notFound) {
        List<Integer> versions = new ArrayList<>();
        // A missing subject fails here, with the registry's own message (40401).
        send("GET", "/subjects/" + encode(subject) + "/versions", null).forEach(version -> versions.add(version.asInt()));
        for (int i = versions.size() - 1; i >= 0; i--) {
            JsonNode version = send("GET", "/subjects/" + encode(subject) + "/versions/" + versions.get(i), null);
            if (PublishedSchema.sameCanonicalForm(schema, parse(version.path("schema").asText()))) {
                return version.path("id").asInt(-1);
            }
        }
        throw new RegistryException(notFound.status(), notFound.errorCode(), notFound.getMessage() + "; none of versions " + versions
                + " of subject " + subject + " has the canonical form of " + schema.getFullName());
    }

    /** The schema with a given id (cached: ids are immutable). */
    public Schema schemaById(int id) {
        return schemasById.computeIfAbsent(id, key -> parse(send("GET", "/schemas/ids/" + id, null).path("schema").asText()));
    }

    public SchemaVersion latest(String subject) {
        JsonNode answer = send("GET", "/subjects/" + encode(subject) + "/versions/latest", null);
        return new SchemaVersion(answer.path("subject").asText(subject), answer.path("version").asInt(), answer.path("id").asInt(),
                parse(answer.path("schema").asText()));
    }

    /** Whether a schema could be registered as the subject's next version under its compatibility level. */
    public Compatibility testCompatibility(String subject, Schema schema) {
        JsonNode answer = send("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest?verbose=true", schemaBody(schema));
        List<String> messages = new ArrayList<>();
        answer.path("messages").forEach(message -> messages.add(message.asText()));
        return new Compatibility(answer.path("is_compatible").asBoolean(false), messages);
    }

    public List<String> subjects() {
        List<String> subjects = new ArrayList<>();
        send("GET", "/subjects", null).forEach(subject -> subjects.add(subject.asText()));
        return subjects;
    }

    private static String schemaBody(Schema schema) {
        ObjectNode body = JSON.createObjectNode();
        body.put("schema", PublishedSchema.of(schema).toString());
        body.put("schemaType", "AVRO");
        return body.toString();
    }

    private static Schema parse(String text) {
        return new Schema.Parser().parse(text);
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private JsonNode send(String method, String path, String body) {
        URI uri = URI.create(stripTrailingSlash(config.url().toString()) + path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(config.requestTimeout()).header("Accept", CONTENT_TYPE + ", application/json");
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", CONTENT_TYPE);
        }
        HttpRequest built = request.build();
        long backoff = config.retryBackoff().toMillis();
        for (int attempt = 0; ; attempt++) {
            String failure;
            Exception cause = null;
            try {
                HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() < 300) {
                    return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
                }
                if (response.statusCode() < 500) {
                    throw error(method, uri, response);
                }
                failure = "answered " + response.statusCode();
            } catch (java.net.ConnectException e) {
                // Java's HTTP client gives a refused connection no message, around a ClosedChannelException.
                failure = "failed: no connection to " + uri.getHost() + ":" + port(uri) + " (refused, or the host is unreachable; ConnectException"
                        + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
                cause = e;
            } catch (IOException e) {
                failure = "failed: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
                cause = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException("interrupted while calling the schema registry at " + uri, e);
            }
            if (attempt >= config.maxRetries()) {
                throw new RegistryException("schema registry " + method + " " + uri + " " + failure + " (after " + (attempt + 1)
                        + (attempt == 0 ? " attempt)" : " attempts)"), cause);
            }
            LOG.warn("schema registry {} {} {}; retrying in {} ms", method, uri, failure, backoff);
            sleep(backoff);
            backoff *= 2;
        }
    }

    /** The port a request to this URI goes to: its own, or the scheme's. */
    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private static RegistryException error(String method, URI uri, HttpResponse<String> response) {
        int errorCode = response.statusCode();
        String message = response.body();
        try {
            JsonNode json = JSON.readTree(response.body());
            errorCode = json.path("error_code").asInt(response.statusCode());
            message = json.path("message").asText(response.body());
        } catch (IOException e) {
            // not JSON: keep the body as the message
        }
        // Apicurio's ccompat API answers "error_code": 0; the HTTP status is then the code.
        if (errorCode <= 0) {
            errorCode = response.statusCode();
        }
        return new RegistryException(response.statusCode(), errorCode,
                "schema registry " + method + " " + uri + " answered " + response.statusCode() + " (error " + errorCode + "): " + message);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("interrupted while waiting to retry the schema registry", e);
        }
    }

    private static String stripTrailingSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    private static SSLContext sslContext(RegistryConfig config) {
        String file = config.truststore().toString();
        String type = file.endsWith(".jks") ? "JKS" : "PKCS12";
        try (InputStream in = Files.newInputStream(config.truststore())) {
            KeyStore store = KeyStore.getInstance(type);
            store.load(in, config.truststorePassword() == null ? null : config.truststorePassword().toCharArray());
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(RegistryConfig.TRUSTSTORE + " = " + file + " cannot be used as a " + type + " truststore: " + e.getMessage(), e);
        }
    }
}
