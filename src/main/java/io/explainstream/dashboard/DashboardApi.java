package io.explainstream.dashboard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.text.Shortened;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The JSON API, apart from HTTP so that it can be tested without a server:
 * {@code GET /api/events}, {@code /api/events/{event_id}}, {@code /api/stats}, {@code /api/alerts},
 * {@code /api/info}. Unknown ids answer 404, bad parameters 400, each with a reason.
 */
final class DashboardApi {

    /** A status and a JSON body. */
    record Answer(int status, String json) {}

    static final int DEFAULT_LIMIT = 200;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final EventStore store;
    private final TrendSource trends;
    private final Map<String, Object> info;
    private final Supplier<Map<String, Object>> sources;
    private final double warnAbove;

    /**
     * @param info what {@code /api/info} reports: topic, threshold, redaction as seen, keep
     * @param sources what it says of the broker and the registry now ({@link Dashboard#sources})
     */
    DashboardApi(EventStore store, TrendSource trends, double warnAbove, Map<String, Object> info, Supplier<Map<String, Object>> sources) {
        this.store = store;
        this.trends = trends;
        this.warnAbove = warnAbove;
        this.info = info;
        this.sources = sources;
    }

    /** Answers a GET of {@code path} (decoded) with the raw query string {@code rawQuery} (may be null). */
    Answer get(String path, String rawQuery) {
        try {
            Map<String, String> query = query(rawQuery);
            if (path.equals("/api/events")) {
                EventFilter filter = EventFilter.parse(query, DEFAULT_LIMIT);
                ArrayNode events = JsonNodeFactory.instance.arrayNode();
                store.newestFirst(filter).forEach(e -> events.add(e.feedJson(warnAbove, store.explanationsHeld(e.eventId()))));
                ObjectNode answer = JsonNodeFactory.instance.objectNode();
                answer.put("held", store.size());
                answer.set("events", events);
                return ok(answer);
            }
            if (path.startsWith("/api/events/")) {
                String id = path.substring("/api/events/".length());
                if (!query.isEmpty()) {
                    throw new BadRequestException("/api/events/{event_id} takes no parameters");
                }
                return store.get(id).map(e -> ok(e.detailJson(warnAbove, store.explanationsHeld(id))))
                        .orElseGet(() -> error(404, "no explanation with event_id '" + id + "' among the " + store.size() + " held"));
            }
            if (path.equals("/api/stats")) {
                return ok(trends.stats(TrendQuery.parse(query)));
            }
            if (path.equals("/api/alerts")) {
                return ok(trends.alerts(TrendQuery.parseAlerts(query)));
            }
            if (path.equals("/api/info")) {
                TrendQuery.requireKnown(query, List.of());
                ObjectNode answer = MAPPER.valueToTree(info);
                answer.put("held", store.size());
                answer.setAll(trends.describe());
                answer.setAll((ObjectNode) MAPPER.valueToTree(sources.get()));
                return ok(answer);
            }
            return error(404, "no such API path: " + path);
        } catch (BadRequestException e) {
            return error(400, e.getMessage());
        }
    }

    /** Why a {@code /api/stream} request is refused (400: it takes no parameters), if it is. */
    static Optional<Answer> refuseStream(String rawQuery) {
        try {
            TrendQuery.requireKnown(query(rawQuery), List.of());
            return Optional.empty();
        } catch (BadRequestException e) {
            return Optional.of(error(400, e.getMessage()));
        }
    }

    static Map<String, String> query(String rawQuery) {
        Map<String, String> query = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return query;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq), Part.QUERY);
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1), Part.QUERY);
            if (query.put(name, value) != null) {
                throw new BadRequestException("parameter '" + name + "' is given twice");
            }
        }
        return query;
    }

    /** Where percent-encoded text comes from: '+' is a space in a query string, itself in a path. */
    enum Part {
        PATH("path"), QUERY("query string");

        private final String words;

        Part(String words) {
            this.words = words;
        }
    }

    /**
     * The request's path, percent-decoded as UTF-8 ({@link #decode}); the server's own decoding made
     * half an emoji U+FFFD, and /api/events/%F0%9F%90 answered 404 for an event id '\uFFFD'.
     *
     * @throws BadRequestException for a path that is not UTF-8 once decoded
     */
    static String path(String rawPath) {
        return decode(rawPath, Part.PATH);
    }

    /**
     * Part of a request, percent-decoded as UTF-8. Bytes that are not UTF-8 once decoded (half an
     * emoji, an encoded lone surrogate) are refused: {@link java.net.URLDecoder} made them U+FFFD,
     * so a filter on them answered an empty list as if nothing matched (a hostile test).
     */
    private static String decode(String text, Part part) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < text.length(); ) {
            char c = text.charAt(i);
            if (c == '%') {
                int high = i + 2 < text.length() ? Character.digit(text.charAt(i + 1), 16) : -1;
                int low = high >= 0 ? Character.digit(text.charAt(i + 2), 16) : -1;
                if (low < 0) {
                    throw new BadRequestException("malformed " + part.words + ": '" + Shortened.cut(text.substring(i), 12)
                            + "' is not a percent escape (a % and two hexadecimal digits)");
                }
                bytes.write(high * 16 + low);
                i += 3;
            } else {
                int codePoint = text.codePointAt(i);
                boolean space = c == '+' && part == Part.QUERY;
                bytes.writeBytes(space ? new byte[] {' '} : Character.toString(codePoint).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(codePoint);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new BadRequestException("malformed " + part.words + ": '" + Shortened.cut(text, 60) + "' is not UTF-8 once percent-decoded");
        }
    }

    private static Answer ok(ObjectNode body) {
        return new Answer(200, write(body));
    }

    static Answer error(int status, String reason) {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.put("status", status);
        body.put("error", reason);
        return new Answer(status, write(body));
    }

    static String write(Object body) {
        try {
            return MAPPER.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
