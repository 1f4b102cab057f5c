package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where the trends and alerts panels get their numbers: {@code GET /api/stats} and
 * {@code GET /api/alerts} answer what this returns, and the {@code source} field of each answer
 * says which source spoke: {@link TopicTrends} (the service's statistics and alerts topics) or
 * {@link InMemoryTrends} (computed from the explanations the dashboard holds);
 * {@link FallbackTrends} picks between them.
 */
interface TrendSource {

    /** Per-window statistics: events, segment shares by kind, relative delta, latency. */
    ObjectNode stats(TrendQuery query);

    /** Alerts, newest first, each naming its example events by id. */
    ObjectNode alerts(TrendQuery query);

    /** What {@code /api/info} says of the trends: {@code trends_source}, and why when it is not the topic. */
    ObjectNode describe();
}
