package io.explainstream.avro;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.explainstream.input.PlainNumber;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A schema registry inside the service for the one-command default: the subset of the Confluent
 * REST API that serializers and dashboards use, on 127.0.0.1, with schemas kept in a
 * {@link SchemaStore} (a compacted Kafka topic in the default run) and BACKWARD compatibility
 * enforced on new versions. Production points at a real registry by URL instead.
 *
 * <pre>
 * GET  /subjects[?deleted=true]           GET  /schemas/ids/{id}
 * GET  /subjects/{s}/versions             GET  /schemas/ids/{id}/versions
 * GET  /subjects/{s}/versions/{v|latest}  GET  /schemas/types
 * GET  /subjects/{s}/versions/{v}/schema  POST /subjects/{s}/versions        register
 * DELETE /subjects/{s}[?permanent=true]   POST /subjects/{s}                 look up
 * DELETE /subjects/{s}/versions/{v}[?permanent=true]
 * POST /compatibility/subjects/{s}/versions/{v|latest}[?verbose=true]
 * GET|PUT /config[/{s}][?defaultToGlobal=true]
 * </pre>
 *
 * <p>Answers follow Confluent's REST documentation: a soft delete hides versions but keeps their
 * ids readable, and a permanent delete needs a soft one first; compatibility {@code messages}
 * come only with {@code verbose=true}; a subject without its own level answers 40408 unless
 * {@code defaultToGlobal=true}. Query parameters that are not listed (such as {@code normalize})
 * are accepted and ignored: stored schemas are already in Avro's own normalized JSON.
 */
public final class EmbeddedSchemaRegistry implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedSchemaRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    /**
     * How the registry listens.
     *
     * @param host the address to bind; 127.0.0.1 unless deliberately exposed
     * @param port the port, 0 for any free one
     * @param username basic-auth user required of clients, or null for none
     * @param password basic-auth password; never logged
     * @param keystore PKCS12 keystore with the server certificate for HTTPS, or null for HTTP
     * @param keystorePassword its password
     */
    public record Settings(String host, int port, String username, String password, Path keystore, String keystorePassword) {

        public static Settings loopback(int port) {
            return new Settings("127.0.0.1", port, null, null, null, null);
        }

        public Settings withBasicAuth(String user, String secret) {
            return new Settings(host, port, user, secret, keystore, keystorePassword);
        }

        public Settings withTls(Path file, String secret) {
            return new Settings(host, port, username, password, file, secret);
        }

        @Override
        public String toString() {
            return "Settings[" + host + ":" + port + ", auth=" + (username == null ? "none" : username + ":[hidden]") + ", tls=" + (keystore != null) + "]";
        }
    }

    private final SchemaBook book;
    private final HttpServer server;
    private final ExecutorService executor;
    private final byte[] expectedAuthorization;
    private final URI url;

    private EmbeddedSchemaRegistry(SchemaBook book, HttpServer server, ExecutorService executor, byte[] expectedAuthorization, URI url) {
        this.book = book;
        this.server = server;
        this.executor = executor;
        this.expectedAuthorization = expectedAuthorization;
        this.url = url;
    }

    public static EmbeddedSchemaRegistry start(SchemaStore store, Settings settings) throws IOException {
        SchemaBook book = new SchemaBook(store);
        InetSocketAddress address = new InetSocketAddress(settings.host(), settings.port());
        HttpServer server;
        if (settings.keystore() != null) {
            HttpsServer https = HttpsServer.create(address, 0);
            https.setHttpsConfigurator(new HttpsConfigurator(serverContext(settings)));
            server = https;
        } else {
            server = HttpServer.create(address, 0);
        }
        byte[] authorization = settings.username() == null ? null
                : ("Basic " + Base64.getEncoder().encodeToString((settings.username() + ":" + settings.password()).getBytes(StandardCharsets.UTF_8)))
                        .getBytes(StandardCharsets.UTF_8);
        ExecutorService executor = Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "schema-registry-http");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        URI url = URI.create((settings.keystore() != null ? "https" : "http") + "://" + settings.host() + ":" + server.getAddress().getPort());
        EmbeddedSchemaRegistry registry = new EmbeddedSchemaRegistry(book, server, executor, authorization, url);
        server.createContext("/", registry::handle);
        server.start();
        LOG.info("schema registry listening on {}", url);
        return registry;
    }

    /** The base URL clients use, for example {@code http://127.0.0.1:34567}. */
    public URI url() {
        return url;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!authorized(exchange)) {
                exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"schema-registry\"");
                respond(exchange, 401, error(401, "Unauthorized"));
                return;
            }
            try {
                respond(exchange, 200, route(exchange));
            } catch (SchemaBook.Refusal refusal) {
                respond(exchange, refusal.status, error(refusal.errorCode, refusal.getMessage()));
            } catch (RuntimeException e) {
                LOG.warn("schema registry request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getPath(), e);
                respond(exchange, 500, error(50001, "Error in the backend data store: " + e.getMessage()));
            }
        }
    }

    private boolean authorized(HttpExchange exchange) {
        if (expectedAuthorization == null) {
            return true;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        return header != null && MessageDigest.isEqual(expectedAuthorization, header.getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode route(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        List<String> path = Arrays.stream(exchange.getRequestURI().getRawPath().split("/"))
                .filter(segment -> !segment.isEmpty()).map(segment -> URLDecoder.decode(segment, StandardCharsets.UTF_8)).toList();
        int n = path.size();
        if (n == 0) {
            return JSON.createObjectNode();
        }
        Map<String, String> query = query(exchange);
        switch (path.get(0)) {
            case "subjects":
                return subjects(exchange, method, path, query);
            case "schemas":
                if (n == 2 && path.get(1).equals("types") && method.equals("GET")) {
                    return JSON.createArrayNode().add("AVRO");
                }
                if (n == 3 && path.get(1).equals("ids") && method.equals("GET")) {
                    return JSON.createObjectNode().put("schema", book.schemaById(parseId(path.get(2))));
                }
                if (n == 4 && path.get(1).equals("ids") && path.get(3).equals("versions") && method.equals("GET")) {
                    ArrayNode versions = JSON.createArrayNode();
                    book.versionsOfId(parseId(path.get(2))).forEach(v -> versions.addObject().put("subject", v.subject()).put("version", v.version()));
                    return versions;
                }
                break;
            case "compatibility":
                if (n == 5 && path.get(1).equals("subjects") && path.get(3).equals("versions") && method.equals("POST")) {
                    List<String> problems = book.compatibilityProblems(path.get(2), path.get(4), schemaOf(exchange));
                    ObjectNode answer = JSON.createObjectNode().put("is_compatible", problems.isEmpty());
                    if (flag(query, "verbose")) {
                        ArrayNode messages = answer.putArray("messages");
                        problems.forEach(messages::add);
                    }
                    return answer;
                }
                break;
            case "config":
                if (n <= 2) {
                    return config(exchange, method, n == 2 ? path.get(1) : null, flag(query, "defaultToGlobal"));
                }
                break;
            default:
                break;
        }
        throw new SchemaBook.Refusal(404, 404, "HTTP 404 Not Found: " + method + " " + exchange.getRequestURI().getPath());
    }

    private JsonNode subjects(HttpExchange exchange, String method, List<String> path, Map<String, String> query) throws IOException {
        int n = path.size();
        if (n == 1 && method.equals("GET")) {
            ArrayNode subjects = JSON.createArrayNode();
            book.subjects(flag(query, "deleted")).forEach(subjects::add);
            return subjects;
        }
        String subject = path.get(1);
        if (n == 2 && method.equals("POST")) {
            return versionJson(book.lookup(subject, schemaOf(exchange)));
        }
        if (n == 2 && method.equals("DELETE")) {
            ArrayNode versions = JSON.createArrayNode();
            book.deleteSubject(subject, flag(query, "permanent")).forEach(versions::add);
            return versions;
        }
        if (n == 4 && path.get(2).equals("versions") && method.equals("DELETE")) {
            return JSON.getNodeFactory().numberNode(book.deleteVersion(subject, path.get(3), flag(query, "permanent")));
        }
        if (n == 3 && path.get(2).equals("versions")) {
            if (method.equals("POST")) {
                return JSON.createObjectNode().put("id", book.register(subject, schemaOf(exchange)));
            }
            ArrayNode versions = JSON.createArrayNode();
            book.versions(subject).forEach(versions::add);
            return versions;
        }
        if (n == 4 && path.get(2).equals("versions") && method.equals("GET")) {
            return versionJson(book.version(subject, path.get(3)));
        }
        if (n == 5 && path.get(2).equals("versions") && path.get(4).equals("schema") && method.equals("GET")) {
            return JSON.readTree(book.version(subject, path.get(3)).schema());
        }
        throw new SchemaBook.Refusal(404, 404, "HTTP 404 Not Found: " + method + " " + exchange.getRequestURI().getPath());
    }

    private JsonNode config(HttpExchange exchange, String method, String subject, boolean defaultToGlobal) throws IOException {
        if (method.equals("PUT")) {
            JsonNode body = JSON.readTree(exchange.getRequestBody());
            try {
                book.setLevel(subject, CompatibilityLevel.parse(body.path("compatibility").asText("")));
            } catch (IllegalArgumentException e) {
                throw new SchemaBook.Refusal(422, 42203, "Invalid compatibility level: " + e.getMessage());
            }
            return JSON.createObjectNode().put("compatibility", book.level(subject).name());
        }
        if (subject != null && !defaultToGlobal && book.subjectLevel(subject).isEmpty()) {
            throw new SchemaBook.Refusal(404, 40408, "Subject '" + subject + "' does not have subject-level compatibility configured");
        }
        return JSON.createObjectNode().put("compatibilityLevel", book.level(subject).name());
    }

    /** The query parameters, decoded; the last of a repeated one wins. */
    private static Map<String, String> query(HttpExchange exchange) {
        Map<String, String> parameters = new HashMap<>();
        String raw = exchange.getRequestURI().getRawQuery();
        if (raw == null || raw.isEmpty()) {
            return parameters;
        }
        for (String pair : raw.split("&")) {
            int equals = pair.indexOf('=');
            String name = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
            parameters.put(name, equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
        }
        return parameters;
    }

    private static boolean flag(Map<String, String> query, String name) {
        return "true".equalsIgnoreCase(query.get(name));
    }

    private static String schemaOf(HttpExchange exchange) throws IOException {
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            body = JSON.readTree(in);
        } catch (IOException e) {
            throw new SchemaBook.Refusal(422, 42201, "Invalid schema: the request body is not JSON");
        }
        String type = body.path("schemaType").asText("AVRO");
        if (!type.equals("AVRO")) {
            throw new SchemaBook.Refusal(422, 42201, "Invalid schema: schemaType " + type + " is not supported by this registry (AVRO only)");
        }
        if (!body.path("schema").isTextual()) {
            throw new SchemaBook.Refusal(422, 42201, "Invalid schema: the body has no \"schema\" string");
        }
        return body.get("schema").asText();
    }

    private static int parseId(String text) {
        try {
            return PlainNumber.parseInt(text);
        } catch (NumberFormatException e) {
            throw new SchemaBook.Refusal(404, 40403, "Schema " + text + " not found");
        }
    }

    private static ObjectNode versionJson(StoredSchema stored) {
        return JSON.createObjectNode().put("subject", stored.subject()).put("version", stored.version()).put("id", stored.id())
                .put("schema", stored.schema());
    }

    private static ObjectNode error(int code, String message) {
        return JSON.createObjectNode().put("error_code", code).put("message", message);
    }

    private static void respond(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static SSLContext serverContext(Settings settings) throws IOException {
        try (InputStream in = Files.newInputStream(settings.keystore())) {
            char[] secret = settings.keystorePassword() == null ? new char[0] : settings.keystorePassword().toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, secret);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, secret);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("keystore " + settings.keystore() + " cannot be used for TLS: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
