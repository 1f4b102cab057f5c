package io.explainstream.dashboard;

import io.explainstream.attribution.CompletenessGap;
import io.explainstream.avro.RegistryConfig;
import java.io.IOException;
import java.net.URI;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The live audit dashboard: a consumer of the explanations topic that keeps the last
 * {@code keep} explanations and serves one page and a JSON/SSE API about them. Start it, read its
 * {@link #url()}, close it.
 */
public final class Dashboard implements AutoCloseable {

    /**
     * How to run it.
     *
     * @param host the address to bind; 127.0.0.1 unless asked otherwise
     * @param port 0 for any free port
     * @param keep how many explanations to hold
     * @param from the earliest record time to read; null from the oldest
     * @param deltaWarnAbove the relative delta over which an explanation is flagged
     * @param credentials "user:password" for HTTP basic authentication (dashboard.auth); null for none
     */
    public record Settings(String topic, String host, int port, int keep, Instant from, double deltaWarnAbove, String credentials) {
        public static final String DEFAULT_HOST = "127.0.0.1";
        public static final int DEFAULT_PORT = 8088;
        public static final int DEFAULT_KEEP = 2000;

        public Settings {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("--port must be from 0 to 65535, not " + port);
            }
            if (keep < 1) {
                throw new IllegalArgumentException("--keep must be at least 1, not " + keep);
            }
            if (!(deltaWarnAbove >= 0)) {
                throw new IllegalArgumentException("--delta-warn must be 0 or more, not " + deltaWarnAbove);
            }
            if (credentials != null && !credentials.contains(":")) {
                throw new IllegalArgumentException("dashboard.auth must be user:password");
            }
        }

        public static Settings defaults(String topic) {
            return new Settings(topic, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_KEEP, null, CompletenessGap.DEFAULT_WARN_ABOVE, null);
        }
    }

    private final ExplanationConsumer consumer;
    private final DashboardServer server;
    private final String host;

    private Dashboard(ExplanationConsumer consumer, DashboardServer server, String host) {
        this.consumer = consumer;
        this.server = server;
        this.host = host;
    }

    /** @param clientSettings Kafka client settings (bootstrap.servers, security), passed through */
    public static Dashboard start(Settings settings, Map<?, ?> clientSettings, RegistryConfig registry) throws IOException {
        EventStore store = new EventStore(settings.keep());
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("topic", settings.topic());
        info.put("keep", settings.keep());
        info.put("from", settings.from() == null ? null : settings.from().toString());
        info.put("delta_warn_above", settings.deltaWarnAbove());
        info.put("trends_source", InMemoryTrends.SOURCE);
        DashboardApi api = new DashboardApi(store, new InMemoryTrends(store, settings.deltaWarnAbove()), settings.deltaWarnAbove(), info);
        ExplanationConsumer consumer = new ExplanationConsumer(clientSettings, registry, settings.topic(), settings.from(), store);
        DashboardServer server;
        try {
            server = new DashboardServer(settings.host(), settings.port(), api, store, settings.deltaWarnAbove(), settings.credentials());
        } catch (IOException | RuntimeException e) {
            consumer.close();
            throw e;
        }
        consumer.start();
        return new Dashboard(consumer, server, settings.host());
    }

    public int port() {
        return server.port();
    }

    public URI url() {
        String shown = host.contains(":") ? "[" + host + "]" : host;
        return URI.create("http://" + shown + ":" + port() + "/");
    }

    @Override
    public void close() {
        server.close();
        consumer.close();
    }
}
