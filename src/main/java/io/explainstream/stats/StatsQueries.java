package io.explainstream.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.explainstream.schema.AuditAlert;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.TimeSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * {@code GET /api/stats?group=&from=&to=} and {@code GET /api/alerts?since=}, from the windows and
 * alerts stores (interactive queries). A group's windows live in the one task that owns the group:
 * an instance that does not hold it forwards the question to the one that does, found through
 * Kafka Streams' metadata ({@code application.server}); a question about every group asks every
 * instance and merges the answers. A forwarded question carries {@code local=true}, so it is never
 * forwarded again.
 */
final class StatsQueries {

    static final String STATS_PATH = "/api/stats";
    static final String ALERTS_PATH = "/api/alerts";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaStreams streams;
    private final StatsSettings settings;
    private final HostInfo self;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** @param applicationServer this instance's host:port for other instances, or null when not set (no forwarding then) */
    StatsQueries(KafkaStreams streams, StatsSettings settings, String applicationServer) {
        this.streams = streams;
        this.settings = settings;
        this.self = applicationServer == null || applicationServer.isBlank() ? null : HostInfo.buildFromEndpoint(applicationServer);
    }

    /** A question the caller got wrong: answered 400 with the reason. */
    static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message);
        }
    }

    void stats(HttpExchange exchange) throws IOException {
        answer(exchange, () -> {
            Map<String, String> params = params(exchange, Set.of("group", "from", "to", "local"));
            Instant now = Instant.now();
            long from = time(params, "from", now, 0);
            long to = time(params, "to", now, Long.MAX_VALUE);
            if (from > to) {
                throw new BadRequest("from = " + params.get("from") + " is after to = " + params.get("to"));
            }
            boolean local = "true".equals(params.get("local"));
            String group = params.get("group");
            if (group != null) {
                GroupKey key;
                try {
                    key = GroupKey.parse(group);
                } catch (IllegalArgumentException e) {
                    throw new BadRequest(e.getMessage());
                }
                if (!key.fields().equals(settings.groupBy().fields())) {
                    throw new BadRequest("group = " + group + " has the fields " + key.fields() + "; stats.group.by is " + settings.groupBy().fields());
                }
                if (!local && self != null) {
                    KeyQueryMetadata owner = streams.queryMetadataForKey(WindowProcessor.WINDOWS_STORE, key.text(), Serdes.String().serializer());
                    if (owner != null && !KeyQueryMetadata.NOT_AVAILABLE.equals(owner) && !owner.activeHost().equals(self)) {
                        return forward(owner.activeHost(), exchange);
                    }
                }
            }
            ArrayNode windows = JSON.createArrayNode();
            for (WindowAggregate aggregate : localWindows(group == null ? null : GroupKey.parse(group).text(), from, to)) {
                windows.add(AvroJson.of(aggregate.toStats(aggregate.closed, now.toEpochMilli(), settings.deltaWarn())));
            }
            if (group == null && !local) {
                for (HostInfo host : otherHosts(WindowProcessor.WINDOWS_STORE)) {
                    JSON.readTree(forward(host, exchange)).path("windows").forEach(windows::add);
                }
            }
            List<JsonNode> sorted = new ArrayList<>();
            windows.forEach(sorted::add);
            sorted.sort(Comparator.comparing((JsonNode n) -> n.path("group_key").asText()).thenComparing(n -> n.path("window_start").asText()));
            ObjectNode body = JSON.createObjectNode();
            body.set("windows", JSON.createArrayNode().addAll(sorted));
            return JSON.writeValueAsString(body);
        });
    }

    void alerts(HttpExchange exchange) throws IOException {
        answer(exchange, () -> {
            Map<String, String> params = params(exchange, Set.of("since", "local"));
            long since = time(params, "since", Instant.now(), 0);
            List<JsonNode> alerts = new ArrayList<>();
            ReadOnlyWindowStore<String, byte[]> store = store(WindowProcessor.ALERTS_STORE);
            SpecificDatumReader<AuditAlert> reader = new SpecificDatumReader<>(AuditAlert.class);
            try (KeyValueIterator<Windowed<String>, byte[]> all = store.fetchAll(Instant.ofEpochMilli(since), Instant.ofEpochMilli(Long.MAX_VALUE / 2))) {
                while (all.hasNext()) {
                    byte[] framed = all.next().value;
                    // Stored as written to the topic: Confluent framing, then Avro binary of this very schema.
                    alerts.add(AvroJson.of(reader.read(null, DecoderFactory.get().binaryDecoder(framed, 5, framed.length - 5, null))));
                }
            }
            if (!"true".equals(params.get("local"))) {
                for (HostInfo host : otherHosts(WindowProcessor.ALERTS_STORE)) {
                    JSON.readTree(forward(host, exchange)).path("alerts").forEach(alerts::add);
                }
            }
            alerts.sort(Comparator.comparing((JsonNode n) -> n.path("fired_at").asText()).thenComparing(n -> n.path("rule").asText()));
            ObjectNode body = JSON.createObjectNode();
            body.set("alerts", JSON.createArrayNode().addAll(alerts));
            return JSON.writeValueAsString(body);
        });
    }

    private List<WindowAggregate> localWindows(String group, long from, long to) {
        ReadOnlyWindowStore<String, byte[]> store = store(WindowProcessor.WINDOWS_STORE);
        List<WindowAggregate> found = new ArrayList<>();
        Instant start = Instant.ofEpochMilli(from);
        Instant end = Instant.ofEpochMilli(Math.min(to, Long.MAX_VALUE / 2));
        if (group != null) {
            try (WindowStoreIterator<byte[]> windows = store.fetch(group, start, end)) {
                windows.forEachRemaining(w -> found.add(WindowAggregate.fromBytes(w.value)));
            }
        } else {
            try (KeyValueIterator<Windowed<String>, byte[]> windows = store.fetchAll(start, end)) {
                windows.forEachRemaining(w -> found.add(WindowAggregate.fromBytes(w.value)));
            }
        }
        return found;
    }

    private ReadOnlyWindowStore<String, byte[]> store(String name) {
        try {
            return streams.store(StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.<String, byte[]>windowStore()));
        } catch (InvalidStateStoreException e) {
            throw new Unavailable("the statistics store is not readable now (stream " + streams.state() + "): " + e.getMessage());
        }
    }

    /** The store cannot answer yet (starting, rebalancing): 503, try again. */
    private static final class Unavailable extends RuntimeException {
        Unavailable(String message) {
            super(message);
        }
    }

    private List<HostInfo> otherHosts(String store) {
        if (self == null) {
            return List.of();
        }
        return streams.streamsMetadataForStore(store).stream().map(StreamsMetadata::hostInfo).filter(h -> !h.equals(self)).distinct().toList();
    }

    private String forward(HostInfo host, HttpExchange exchange) throws IOException, InterruptedException {
        String query = exchange.getRequestURI().getRawQuery();
        URI uri = URI.create("http://" + host.host() + ":" + host.port() + exchange.getRequestURI().getPath() + "?"
                + (query == null || query.isEmpty() ? "" : query + "&") + "local=true");
        HttpResponse<String> response;
        try {
            response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            // An instance that died keeps its place in the metadata until the group notices (the
            // session timeout): a question for it is answered 503, try again, never a dropped connection.
            throw new Unavailable("instance " + host.host() + ":" + host.port() + " did not answer (" + e + "); it may have stopped, ask again after the rebalance");
        }
        if (response.statusCode() != 200) {
            throw new Unavailable("instance " + host.host() + ":" + host.port() + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    private static Map<String, String> params(HttpExchange exchange, Set<String> allowed) {
        if (!exchange.getRequestMethod().equals("GET")) {
            throw new BadRequest("only GET is answered here, not " + exchange.getRequestMethod());
        }
        return params(exchange.getRequestURI().getRawQuery(), allowed);
    }

    /**
     * The parameters of a raw query, as the dashboard's API reads them: an unknown name or one given
     * twice is a bad request (one of two values was silently used), an empty value is one not given.
     */
    static Map<String, String> params(String query, Set<String> allowed) {
        Map<String, String> params = new LinkedHashMap<>();
        if (query == null || query.isEmpty()) {
            return params;
        }
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (!allowed.contains(name)) {
                throw new BadRequest("unknown parameter '" + name + "' (this endpoint takes " + allowed.stream().sorted().collect(Collectors.joining(", ")) + ")");
            }
            if (value.isEmpty()) {
                continue;
            }
            if (params.containsKey(name)) {
                throw new BadRequest("parameter '" + name + "' is given twice");
            }
            params.put(name, value);
        }
        return params;
    }

    /**
     * A time parameter as epoch milliseconds; one outside what a record's timestamp holds (before
     * 1970, or past the year 292278994) is a bad request, not a 500 nor a range no window is in.
     */
    static long time(Map<String, String> params, String name, Instant now, long fallback) {
        String text = params.get(name);
        if (text == null) {
            return fallback;
        }
        try {
            return TimeSpec.parseRecordTime(name, text, now).toEpochMilli();
        } catch (ConfigException e) {
            throw new BadRequest(e.getMessage());
        }
    }

    /** Text of an answer. */
    private interface Body {
        String get() throws IOException, InterruptedException;
    }

    private static void answer(HttpExchange exchange, Body body) throws IOException {
        int status;
        String text;
        try {
            text = body.get();
            status = 200;
        } catch (BadRequest e) {
            status = 400;
            text = error(status, e.getMessage());
        } catch (Unavailable e) {
            status = 503;
            text = error(status, e.getMessage());
        } catch (InvalidStateStoreException e) {
            // The store went away while it was read (a rebalance): ask again.
            status = 503;
            text = error(status, "the statistics store is not readable now: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = 503;
            text = error(status, "interrupted");
        } catch (RuntimeException e) {
            status = 500;
            text = error(status, e.toString());
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
        exchange.close();
    }

    /** The dashboard's error body too: the status and the reason. */
    private static String error(int status, String reason) {
        return JSON.createObjectNode().put("status", status).put("error", reason).toString();
    }

    static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
