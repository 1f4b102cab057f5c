package io.explainstream.dashboard;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The dashboard's HTTP side on the JDK's server: the page and its scripts from the jar
 * ({@code /}, {@code /static/…}, {@code /webjars/…}), the JSON API ({@link DashboardApi}) and the
 * live feed as server-sent events ({@code GET /api/stream}). With credentials set, every request
 * needs them (HTTP basic).
 */
final class DashboardServer implements AutoCloseable {

    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8", "css",
            "text/css; charset=utf-8", "svg", "image/svg+xml");
    private static final long HEARTBEAT_SECONDS = 15;

    private final HttpServer server;
    private final InetSocketAddress address;
    private final ExecutorService executor;
    private final DashboardApi api;
    private final EventStore store;
    private final double warnAbove;
    private final byte[] expectedAuthorization;
    private volatile boolean closing;

    /** @param credentials "user:password" for HTTP basic authentication; null for none */
    DashboardServer(String host, int port, DashboardApi api, EventStore store, double warnAbove, String credentials) throws IOException {
        this.api = api;
        this.store = store;
        this.warnAbove = warnAbove;
        this.expectedAuthorization = credentials == null ? null
                : ("Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8);
        this.server = create(host, port);
        // SSE streams hold a thread each for as long as a page is open.
        this.executor = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "dashboard-http");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        this.address = server.getAddress();
    }

    /**
     * The server bound to {@code host}:{@code port}. A host that does not resolve or is not this
     * machine's, and a port in use, are the user's to fix: they are told as one line naming the
     * option and value ({@link IllegalArgumentException}, which the command line reports without a
     * stack trace), not as a BindException's trace.
     */
    static HttpServer create(String host, int port) throws IOException {
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("--host " + host + ": no such host (it does not resolve to an address)");
        }
        try {
            return HttpServer.create(address, 0);
        } catch (BindException e) {
            String reason = e.getMessage() == null ? "cannot bind" : e.getMessage();
            if (reason.toLowerCase(java.util.Locale.ROOT).contains("in use")) {
                throw new IllegalArgumentException("--port " + port + ": the port is in use on " + host + " (" + reason
                        + "); choose another, or 0 for any free one");
            }
            throw new IllegalArgumentException("--host " + host + ": cannot listen there (" + reason + "); give an address of this machine");
        }
    }

    /** The address the server listens on, as bound. */
    InetSocketAddress address() {
        return address;
    }

    int port() {
        return address.getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!authorized(exchange)) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"explainstream dashboard\", charset=\"UTF-8\"");
                send(exchange, 401, "application/json", DashboardApi.error(401, "credentials required (dashboard.auth)").json());
                return;
            }
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "application/json", DashboardApi.error(405, "only GET is served").json());
                return;
            }
            String path;
            try {
                path = DashboardApi.path(exchange.getRequestURI().getRawPath());
            } catch (BadRequestException e) {
                send(exchange, 400, "application/json", DashboardApi.error(400, e.getMessage()).json());
                return;
            }
            if (path.equals("/api/stream")) {
                java.util.Optional<DashboardApi.Answer> refused = DashboardApi.refuseStream(exchange.getRequestURI().getRawQuery());
                if (refused.isPresent()) {
                    send(exchange, refused.get().status(), "application/json", refused.get().json());
                } else {
                    stream(exchange);
                }
            } else if (path.startsWith("/api/")) {
                DashboardApi.Answer answer = api.get(path, exchange.getRequestURI().getRawQuery());
                send(exchange, answer.status(), "application/json", answer.json());
            } else if (path.equals("/") || path.equals("/index.html")) {
                resource(exchange, "dashboard/index.html");
            } else if (path.startsWith("/static/") && !path.contains("..")) {
                resource(exchange, "dashboard/" + path.substring("/static/".length()));
            } else if (path.startsWith("/webjars/") && !path.contains("..")) {
                resource(exchange, "META-INF/resources" + path);
            } else {
                send(exchange, 404, "text/plain; charset=utf-8", "not found: " + path);
            }
        }
    }

    private boolean authorized(HttpExchange exchange) {
        if (expectedAuthorization == null) {
            return true;
        }
        String given = exchange.getRequestHeaders().getFirst("Authorization");
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expectedAuthorization);
    }

    /** New explanations as they arrive, one {@code explanation} event each (the feed's line), until the page goes away. */
    private void stream(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(200, -1);
            return;
        }
        LinkedBlockingQueue<DashboardEvent> arrivals = new LinkedBlockingQueue<>(10_000);
        Runnable unsubscribe = store.listen(arrivals::offer);
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(": explainstream dashboard\nretry: 2000\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (!closing) {
                DashboardEvent event = arrivals.poll(HEARTBEAT_SECONDS, TimeUnit.SECONDS);
                String message = event == null ? ": heartbeat\n\n"
                        : "event: explanation\nid: " + event.sequence() + "\ndata: " + DashboardApi.write(event.feedJson(warnAbove, store.explanationsHeld(event.eventId()))) + "\n\n";
                out.write(message.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            // the page went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            unsubscribe.run();
        }
    }

    private static void resource(HttpExchange exchange, String name) throws IOException {
        String extension = name.substring(name.lastIndexOf('.') + 1);
        // Only files of the types the page uses: a folder (/webjars/, /static/) opens as an empty
        // or listing stream, which was answered 200 with no content.
        boolean servable = name.lastIndexOf('.') > name.lastIndexOf('/') && TYPES.containsKey(extension);
        try (InputStream in = servable ? DashboardServer.class.getClassLoader().getResourceAsStream(name) : null) {
            if (in == null) {
                send(exchange, 404, "text/plain; charset=utf-8", "not found: " + exchange.getRequestURI().getPath());
                return;
            }
            byte[] bytes = in.readAllBytes();
            exchange.getResponseHeaders().set("Content-Type", TYPES.get(extension));
            exchange.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'");
            respond(exchange, 200, bytes);
        }
    }

    /**
     * The status and the body; for HEAD the headers only, without a length (the JDK's server
     * warns on stderr at every HEAD answered with one, and sends no body anyway).
     */
    private static void respond(HttpExchange exchange, int status, byte[] body) throws IOException {
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        respond(exchange, status, bytes);
    }

    @Override
    public void close() {
        closing = true;
        server.stop(0);
        executor.shutdownNow();
    }
}
