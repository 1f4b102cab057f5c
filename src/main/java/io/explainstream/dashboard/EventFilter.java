package io.explainstream.dashboard;

import io.explainstream.input.PlainNumber;
import java.util.Map;
import java.util.Set;

/**
 * What the feed is narrowed to: every part that is set must match. {@code application} and
 * {@code tenant} match the metadata keys of those names.
 *
 * @param limit at most this many events, newest first
 */
record EventFilter(int limit, String model, String application, String tenant, String method, String topSegment, String text) {

    static final int MAX_LIMIT = 10_000;
    private static final Set<String> PARAMETERS = Set.of("limit", "model", "application", "tenant", "method", "segment", "q");

    /**
     * The {@code limit} parameter: a whole number from 1 to {@link #MAX_LIMIT}, or {@code fallback}
     * when absent or empty (as every filter here reads an empty value: a form's untouched field).
     */
    static int limit(String text, int fallback) {
        if (text == null || text.isBlank()) {
            return fallback;
        }
        int limit;
        try {
            limit = PlainNumber.parseInt(text);
        } catch (NumberFormatException e) {
            throw new BadRequestException("limit must be a whole number from 1 to " + MAX_LIMIT + ", not '" + text + "'");
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new BadRequestException("limit must be from 1 to " + MAX_LIMIT + ", not " + limit);
        }
        return limit;
    }

    /**
     * The filter a query string asks for.
     *
     * @throws BadRequestException naming the parameter and value that are wrong
     */
    static EventFilter parse(Map<String, String> query, int defaultLimit) {
        for (String name : query.keySet()) {
            if (!PARAMETERS.contains(name)) {
                throw new BadRequestException("unknown parameter '" + name + "'; known: limit, model, application, tenant, method, segment, q");
            }
        }
        int limit = limit(query.get("limit"), defaultLimit);
        // Any case: the configuration spells the methods in lower case (method=gradient), the records in upper.
        String asked = blankToNull(query.get("method"));
        String method = asked == null ? null : asked.toUpperCase(java.util.Locale.ROOT);
        if (method != null && !Set.of("INTEGRATED_GRADIENTS", "GRADIENT", "INPUT_X_GRADIENT").contains(method)) {
            throw new BadRequestException("method must be integrated_gradients, gradient or input_x_gradient (any case), not '" + asked + "'");
        }
        return new EventFilter(limit, blankToNull(query.get("model")), blankToNull(query.get("application")), blankToNull(query.get("tenant")), method,
                blankToNull(query.get("segment")), blankToNull(query.get("q")));
    }

    boolean matches(DashboardEvent event) {
        Map<String, String> metadata = event.metadata();
        return (model == null || model.equals(event.modelId()))
                && (application == null || application.equals(metadata.get("application")))
                && (tenant == null || tenant.equals(metadata.get("tenant")))
                && (method == null || method.equals(event.method()))
                && (topSegment == null || topSegment.equals(event.topSegment()))
                && (text == null || event.textContains(text));
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
