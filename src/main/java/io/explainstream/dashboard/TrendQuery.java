package io.explainstream.dashboard;

import io.explainstream.input.PlainNumber;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The window and model a trends or alerts request is about.
 *
 * @param window the tumbling window's length the request asks for; null when it does not ask
 * @param model only this model's events; null for all
 * @param limit the most recent windows (window starts) or alerts to answer with: the page asks
 *     every few seconds, and the held windows can be many
 */
record TrendQuery(Duration window, String model, int limit) {

    static final int DEFAULT_LIMIT = 120;
    static final int MAX_LIMIT = EventFilter.MAX_LIMIT;

    /** The window of trends computed by the dashboard itself when the request names none. */
    static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);

    private static final List<String> STATS_PARAMETERS = List.of("window", "model", "limit");
    /**
     * Alerts take no window: the topic's alerts are of the service's windows, and a window asked of
     * them would be ignored without a word; the memory's alerts use {@link #DEFAULT_WINDOW}.
     */
    private static final List<String> ALERTS_PARAMETERS = List.of("model", "limit");
    private static final Duration SHORTEST = Duration.ofSeconds(1);
    private static final Duration LONGEST = Duration.ofDays(1);

    /**
     * A {@code /api/stats} request.
     *
     * @throws BadRequestException naming the parameter and value that are wrong
     */
    static TrendQuery parse(Map<String, String> query) {
        requireKnown(query, STATS_PARAMETERS);
        return parseKnown(query);
    }

    /**
     * An {@code /api/alerts} request: no window.
     *
     * @throws BadRequestException naming the parameter and value that are wrong
     */
    static TrendQuery parseAlerts(Map<String, String> query) {
        requireKnown(query, ALERTS_PARAMETERS);
        return parseKnown(query);
    }

    /** @throws BadRequestException for the first parameter not in {@code known}, listing those that are */
    static void requireKnown(Map<String, String> query, List<String> known) {
        for (String name : query.keySet()) {
            if (!known.contains(name)) {
                throw new BadRequestException("unknown parameter '" + name + "'; " + (known.isEmpty() ? "this takes none" : "known: " + String.join(", ", known)));
            }
        }
    }

    private static TrendQuery parseKnown(Map<String, String> query) {
        Duration window = null;
        String text = query.get("window");
        if (text != null && !text.isBlank()) { // empty, as every parameter here: not given
            try {
                window = Duration.ofSeconds(PlainNumber.parseLong(text));
            } catch (NumberFormatException e) {
                throw new BadRequestException("window is in whole seconds (1 to 86400), not '" + text + "'");
            }
            if (window.compareTo(SHORTEST) < 0 || window.compareTo(LONGEST) > 0) {
                throw new BadRequestException("window must be from 1 to 86400 seconds, not " + text);
            }
        }
        String model = query.get("model");
        return new TrendQuery(window, model == null || model.isBlank() ? null : model, EventFilter.limit(query.get("limit"), DEFAULT_LIMIT));
    }

    /** The window asked for, else {@link #DEFAULT_WINDOW}. */
    Duration windowOrDefault() {
        return window == null ? DEFAULT_WINDOW : window;
    }
}
