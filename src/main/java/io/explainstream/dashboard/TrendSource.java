package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where the trends and alerts panels get their numbers: {@code GET /api/stats} and
 * {@code GET /api/alerts} answer what this returns. Today {@link InMemoryTrends} computes them from
 * the explanations the dashboard holds; once the {@code explanation-stats} and
 * {@code explanation-alerts} topics exist, a source that reads them takes its place here, and the
 * {@code source} field of each answer says which one spoke.
 */
interface TrendSource {

    /** Per-window statistics: events, segment shares by kind, relative delta, latency. */
    ObjectNode stats(TrendQuery query);

    /** Alerts, newest first, each naming its example events by id. */
    ObjectNode alerts(TrendQuery query);
}
