package io.explainstream.stream;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The operations endpoint: {@code GET /metrics} in the Prometheus text format and
 * {@code GET /health}, 200 when the service is ready (stream RUNNING, model loaded), 503 otherwise.
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

    public static OperationsServer start(String host, int port, PrometheusMeterRegistry metrics, Supplier<Health> health) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        ExecutorService executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "ops-http");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext("/metrics", exchange -> respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.createContext("/health", exchange -> {
            Health current = health.get();
            String body = "{\"status\":\"" + (current.ready() ? "UP" : "DOWN") + "\",\"detail\":\"" + current.detail().replace("\"", "'") + "\"}";
            respond(exchange, current.ready() ? 200 : 503, "application/json", body);
        });
        server.start();
        return new OperationsServer(server, executor);
    }

    public int port() {
        return server.getAddress().getPort();
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
