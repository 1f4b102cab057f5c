package io.explainstream.stream.service;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The operations endpoint: {@code GET /metrics} in the Prometheus text format and
 * {@code GET /health}, 200 while the service is alive and making progress, and {@code GET /ready}, 200
 * when it is ready for traffic (stream RUNNING, model loaded); 503 with the reason otherwise.
 */
public final class OperationsServer implements AutoCloseable {

    /** What /health reports. */
    public record Health(boolean ready, String detail) {}

    private final HttpServer server;
    private final ExecutorService executor;

    private OperationsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * @param health alive and making progress: {@code /health}, for a liveness probe
     * @param readiness ready for traffic: {@code /ready}, for a readiness probe
     */
    public static OperationsServer start(String host, int port, PrometheusMeterRegistry metrics, Supplier<Health> health, Supplier<Health> readiness)
            throws IOException {
        return start(host, port, metrics, health, readiness, Map.of());
    }

    /**
     * @param extra more endpoints, by path (the statistics' {@code /api/stats} and {@code /api/alerts})
     */
    public static OperationsServer start(String host, int port, PrometheusMeterRegistry metrics, Supplier<Health> health, Supplier<Health> readiness,
            Map<String, HttpHandler> extra) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        ExecutorService executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "ops-http");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext("/metrics", exchange -> respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.createContext("/health", exchange -> respondWith(exchange, health.get()));
        server.createContext("/ready", exchange -> respondWith(exchange, readiness.get()));
        extra.forEach(server::createContext);
        server.start();
        return new OperationsServer(server, executor);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void respondWith(HttpExchange exchange, Health current) throws IOException {
        // Control characters (a line end, a stack trace's tab) are not allowed in a JSON string.
        String detail = current.detail().replace("\\", "\\\\").replace("\"", "'").replaceAll("\\p{Cntrl}", " ");
        String body = "{\"status\":\"" + (current.ready() ? "UP" : "DOWN") + "\",\"detail\":\"" + detail + "\"}";
        respond(exchange, current.ready() ? 200 : 503, "application/json", body);
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
