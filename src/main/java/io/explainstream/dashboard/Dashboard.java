package io.explainstream.dashboard;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.stream.config.ServiceConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live audit dashboard: a consumer of the explanations topic that keeps the last
 * {@code keep} explanations, and of the statistics and alerts topics that keeps their latest
 * windows and alerts, and serves one page and a JSON/SSE API about them. Start it, read its
 * {@link #url()}, close it.
 */
public final class Dashboard implements AutoCloseable {

    /**
     * How to run it.
     *
     * @param topic the explanations topic
     * @param statsTopic the statistics topic (stats.topic) the trends come from; null: trends from memory only
     * @param alertsTopic the alerts topic (alerts.topic) read with it
     * @param host the address to bind; 127.0.0.1 unless asked otherwise
     * @param port 0 for any free port
     * @param keep how many explanations to hold
     * @param from the earliest record time to read; null from the oldest
     * @param deltaWarnAbove the relative delta over which an explanation is flagged
     * @param credentials "user:password" for HTTP basic authentication (dashboard.auth); null for none
     */
    public record Settings(String topic, String statsTopic, String alertsTopic, String host, int port, int keep, Instant from, double deltaWarnAbove, String credentials) {
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
            if ((statsTopic == null) != (alertsTopic == null)) {
                throw new IllegalArgumentException("the statistics and alerts topics go together: " + statsTopic + ", " + alertsTopic);
            }
            if (credentials != null && !ServiceConfig.isUserAndPassword(credentials)) {
                throw new IllegalArgumentException("dashboard.auth must be user:password, neither of them empty");
            }
        }
    }

    /** {@code from} in {@code /api/info} when the readers start at the oldest record. */
    static final String FROM_BEGINNING = "beginning";
    private static final Logger LOG = LoggerFactory.getLogger(Dashboard.class);

    private final List<TopicReader> readers;
    private final DashboardServer server;
    private final String host;

    private Dashboard(List<TopicReader> readers, DashboardServer server, String host) {
        this.readers = readers;
        this.server = server;
        this.host = host;
    }

    /** @param clientSettings Kafka client settings (bootstrap.servers, security), passed through */
    public static Dashboard start(Settings settings, Map<?, ?> clientSettings, RegistryConfig registry) throws IOException {
        return start(settings, clientSettings, registry, () -> { });
    }

    /**
     * @param clientSettings Kafka client settings (bootstrap.servers, security), passed through
     * @param whenBound runs once the page's address is bound and before the readers connect: the
     *     command line checks the cluster there, so that a port in use is said before a broker that
     *     cannot be reached; when it throws, the dashboard is closed and the exception passed on
     */
    public static Dashboard start(Settings settings, Map<?, ?> clientSettings, RegistryConfig registry, Runnable whenBound) throws IOException {
        EventStore store = new EventStore(settings.keep());
        Map<String, Object> info = info(settings);
        SchemaRegistryClient schemas = new SchemaRegistryClient(registry);
        List<TopicReader> readers = new ArrayList<>();
        readers.add(explanationReader(settings, clientSettings, schemas, store));
        InMemoryTrends memory = new InMemoryTrends(store, settings.deltaWarnAbove());
        TrendSource trends = memory;
        if (settings.statsTopic() != null) {
            TopicTrends topic = new TopicTrends(settings.statsTopic(), settings.alertsTopic());
            readers.add(statsReader(settings, clientSettings, schemas, topic));
            trends = new FallbackTrends(topic, memory);
        }
        List<TopicReader> all = List.copyOf(readers);
        DashboardApi api = new DashboardApi(store, trends, settings.deltaWarnAbove(), info,
                () -> sources(all.stream().map(TopicReader::contact).toList()));
        DashboardServer server;
        try {
            server = new DashboardServer(settings.host(), settings.port(), api, store, settings.deltaWarnAbove(), settings.credentials());
        } catch (IOException | RuntimeException e) {
            readers.forEach(TopicReader::close);
            throw e;
        }
        try {
            whenBound.run();
        } catch (RuntimeException e) {
            server.close();
            readers.forEach(TopicReader::close);
            throw e;
        }
        exposureWarning(server.address(), settings.credentials()).ifPresent(LOG::warn);
        readers.forEach(TopicReader::start);
        return new Dashboard(List.copyOf(readers), server, settings.host());
    }

    /**
     * What {@code /api/info} says of the settings. {@code from} is the start the readers use: an
     * instant ({@code -1h} as resolved when the dashboard started), or {@code beginning}.
     */
    static Map<String, Object> info(Settings settings) {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("topic", settings.topic());
        info.put("keep", settings.keep());
        info.put("from", settings.from() == null ? FROM_BEGINNING : settings.from().toString());
        info.put("delta_warn_above", settings.deltaWarnAbove());
        // A dashboard started again numbers what it reads from 0 again: a page that outlived it
        // tells by this that its entries' numbers are another run's, and starts its feed afresh.
        info.put("instance", java.util.UUID.randomUUID().toString());
        return info;
    }

    /**
     * What {@code /api/info} says of the broker and the schema registry, from what every reader
     * saw: {@code broker} is {@code reachable} when each reader's latest look at the cluster got an
     * answer, else {@code unreachable} or {@code not reached yet}; {@code broker_last_reached} is
     * the oldest of the readers' last answers (null until every reader has had one: null beside
     * {@code reachable} read as "never reached"); {@code registry} is {@code unavailable} while
     * records wait for it ({@code registry_unavailable_since}), else {@code answering}.
     */
    static Map<String, Object> sources(List<TopicReader.Contact> contacts) {
        Map<String, Object> sources = new LinkedHashMap<>();
        List<TopicReader.Contact> failing = contacts.stream().filter(c -> !c.reached()).toList();
        boolean neverReached = failing.stream().anyMatch(c -> c.lastReached() == null);
        sources.put("broker", failing.isEmpty() ? "reachable" : neverReached ? "not reached yet" : "unreachable");
        sources.put("broker_last_reached", contacts.isEmpty() || contacts.stream().anyMatch(c -> c.lastReached() == null) ? null
                : contacts.stream().map(TopicReader.Contact::lastReached).min(Instant::compareTo).orElseThrow().toString());
        Optional<Instant> registryDown = contacts.stream().map(TopicReader.Contact::registryUnavailableSince).filter(java.util.Objects::nonNull)
                .min(Instant::compareTo);
        sources.put("registry", registryDown.isPresent() ? "unavailable" : "answering");
        sources.put("registry_unavailable_since", registryDown.map(Instant::toString).orElse(null));
        return sources;
    }

    /**
     * A warning when the page is served beyond this machine (not on a loopback address: 0.0.0.0, a
     * network interface) without credentials: anyone who can reach the port reads the prompts.
     */
    static Optional<String> exposureWarning(InetSocketAddress bound, String credentials) {
        if (credentials != null || bound.getAddress().isLoopbackAddress()) {
            return Optional.empty();
        }
        return Optional.of("the dashboard listens on " + bound.getAddress().getHostAddress() + ":" + bound.getPort()
                + ", open to the network without credentials: anyone who reaches it reads the explanations; set dashboard.auth=user:password");
    }

    private static TopicReader explanationReader(Settings settings, Map<?, ?> clientSettings, SchemaRegistryClient schemas, EventStore store) {
        ConfluentAvroDeserializer<Explanation> explanations = ConfluentAvroDeserializer.specific(schemas, Explanation.class);
        return new TopicReader("dashboard", clientSettings, List.of(settings.topic()), settings.from(),
                record -> store.add(explanations.deserialize(record.topic(), record.value())), existing -> {});
    }

    /** One reader for both topics: the same settings and --from, each record decoded by the topic it came from. */
    private static TopicReader statsReader(Settings settings, Map<?, ?> clientSettings, SchemaRegistryClient schemas, TopicTrends trends) {
        ConfluentAvroDeserializer<ExplanationStats> stats = ConfluentAvroDeserializer.specific(schemas, ExplanationStats.class);
        ConfluentAvroDeserializer<AuditAlert> alerts = ConfluentAvroDeserializer.specific(schemas, AuditAlert.class);
        return new TopicReader("dashboard-stats", clientSettings, List.of(settings.statsTopic(), settings.alertsTopic()), settings.from(), record -> {
            if (record.topic().equals(settings.statsTopic())) {
                trends.add(stats.deserialize(record.topic(), record.value()));
            } else {
                trends.add(alerts.deserialize(record.topic(), record.value()));
            }
        }, trends::topicsExisting);
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
        readers.forEach(TopicReader::close);
    }
}
