package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.schema.PromptSegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Trends and alerts computed from the explanations in the dashboard's memory, in tumbling windows
 * of event time: no more than the last {@code --keep} events, and only those this dashboard has
 * consumed, which every answer says in its {@code source} and {@code note}.
 *
 * <p>Alerts: a window in which a model's explanations had a relative delta over the threshold
 * (their scores do not add up to what they explain), and one in which prompts were truncated
 * (the explanation covers only part of what the model saw).
 */
final class InMemoryTrends implements TrendSource {

    static final String SOURCE = "memory";
    private static final int EXAMPLES = 5;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final EventStore store;
    private final double warnAbove;

    InMemoryTrends(EventStore store, double warnAbove) {
        this.store = store;
        this.warnAbove = warnAbove;
    }

    @Override
    public ObjectNode stats(TrendQuery query) {
        List<DashboardEvent> events = events(query);
        ObjectNode answer = header(query, events.size());
        ArrayNode windows = answer.putArray("windows");
        for (Map.Entry<Long, List<DashboardEvent>> window : lastWindows(byWindow(events, query), query.limit()).entrySet()) {
            List<DashboardEvent> in = window.getValue();
            ObjectNode row = windows.addObject();
            row.put("start", window.getKey());
            row.put("end", window.getKey() + query.windowOrDefault().toMillis());
            row.put("events", in.size());
            double[] latencies = in.stream().mapToDouble(e -> e.record().getAttributionLatencyMs()).sorted().toArray();
            row.put("latency_ms_p50", percentile(latencies, 0.5));
            row.put("latency_ms_max", latencies[latencies.length - 1]);
            double[] deltas = in.stream().mapToDouble(DashboardEvent::relativeDelta).filter(Double::isFinite).sorted().toArray();
            if (deltas.length > 0) {
                row.put("relative_delta_mean", java.util.Arrays.stream(deltas).average().orElseThrow());
                row.put("relative_delta_max", deltas[deltas.length - 1]);
            } else {
                row.putNull("relative_delta_mean");
                row.putNull("relative_delta_max");
            }
            row.put("delta_warnings", in.stream().filter(e -> e.deltaOverThreshold(warnAbove)).count());
            ObjectNode shareNode = row.putObject("segment_share_mean");
            shareMeans(in).forEach(shareNode::put);
        }
        return answer;
    }

    /**
     * The mean share per segment kind, as the statistics topic defines it (reliance.<kind>.share_mean,
     * docs/auditing.md): an event's share of a kind is the sum over its segments of that kind, and the
     * mean is over the events that have the kind only; a 0 for a prompt without a system message
     * would read as "ignored the system prompt". Kinds, not names: user[0] and doc:ball differ
     * between events, kinds do not.
     */
    static Map<String, Double> shareMeans(List<DashboardEvent> events) {
        Map<String, double[]> sums = new TreeMap<>(); // kind → {sum of the events' shares, events with the kind}
        for (DashboardEvent event : events) {
            Map<String, Double> perEvent = new TreeMap<>();
            for (PromptSegment segment : event.record().getSegments()) {
                perEvent.merge(segment.getKind().name().toLowerCase(java.util.Locale.ROOT), segment.getShare(), Double::sum);
            }
            perEvent.forEach((kind, share) -> {
                double[] sum = sums.computeIfAbsent(kind, k -> new double[2]);
                sum[0] += share;
                sum[1]++;
            });
        }
        Map<String, Double> means = new TreeMap<>();
        sums.forEach((kind, sum) -> means.put(kind, sum[0] / sum[1]));
        return means;
    }

    @Override
    public ObjectNode describe() {
        return NODES.objectNode().put("trends_source", SOURCE);
    }

    @Override
    public ObjectNode alerts(TrendQuery query) {
        List<DashboardEvent> events = events(query);
        ObjectNode answer = header(query, events.size());
        List<ObjectNode> alerts = new ArrayList<>();
        for (Map.Entry<Long, List<DashboardEvent>> window : byWindow(events, query).entrySet()) {
            Map<String, List<DashboardEvent>> overDelta = new TreeMap<>();
            Map<String, List<DashboardEvent>> truncated = new TreeMap<>();
            for (DashboardEvent event : window.getValue()) {
                if (event.deltaOverThreshold(warnAbove)) {
                    overDelta.computeIfAbsent(event.modelId(), m -> new ArrayList<>()).add(event);
                }
                if (event.record().getFlags().getPromptTruncated()) {
                    truncated.computeIfAbsent(event.modelId(), m -> new ArrayList<>()).add(event);
                }
            }
            long start = window.getKey();
            int total = window.getValue().size();
            overDelta.forEach((model, hits) -> alerts.add(alert("delta_over_threshold", "warning", model, start, query, hits, total,
                    String.format(java.util.Locale.ROOT, "%d of %d explanations of %s have a relative delta over %.3g: their scores do not add up to the change they explain",
                            hits.size(), total, model, warnAbove))));
            truncated.forEach((model, hits) -> alerts.add(alert("prompt_truncated", "info", model, start, query, hits, total,
                    String.format(java.util.Locale.ROOT, "%d of %d prompts to %s were truncated before they were explained", hits.size(), total, model))));
        }
        alerts.sort(Comparator.comparingLong((ObjectNode a) -> a.get("window_start").asLong()).reversed());
        answer.putArray("alerts").addAll(alerts.stream().limit(query.limit()).toList());
        return answer;
    }

    private ObjectNode header(TrendQuery query, int events) {
        ObjectNode answer = NODES.objectNode();
        answer.put("source", SOURCE);
        answer.put("note", "computed from the " + events + " explanations in this dashboard's memory (at most the last " + store.keep()
                + "), not from the service's statistics topic");
        answer.put("window_ms", query.windowOrDefault().toMillis());
        answer.put("delta_warn_above", warnAbove);
        return answer;
    }

    private static ObjectNode alert(String rule, String severity, String model, long start, TrendQuery query, List<DashboardEvent> hits, int total,
            String message) {
        ObjectNode alert = NODES.objectNode();
        alert.put("rule", rule);
        alert.put("severity", severity);
        alert.put("model_id", model);
        alert.put("window_start", start);
        alert.put("window_end", start + query.windowOrDefault().toMillis());
        alert.put("count", hits.size());
        alert.put("of", total);
        alert.put("message", message);
        ArrayNode examples = alert.putArray("example_event_ids");
        hits.stream().limit(EXAMPLES).forEach(e -> examples.add(e.eventId()));
        return alert;
    }

    private List<DashboardEvent> events(TrendQuery query) {
        return store.all().stream().filter(e -> query.model() == null || query.model().equals(e.modelId())).toList();
    }

    private static Map<Long, List<DashboardEvent>> byWindow(List<DashboardEvent> events, TrendQuery query) {
        long size = query.windowOrDefault().toMillis();
        Map<Long, List<DashboardEvent>> windows = new TreeMap<>();
        for (DashboardEvent event : events) {
            long time = event.eventTime().toEpochMilli();
            windows.computeIfAbsent(Math.floorDiv(time, size) * size, w -> new ArrayList<>()).add(event);
        }
        return windows;
    }

    private static Map<Long, List<DashboardEvent>> lastWindows(Map<Long, List<DashboardEvent>> windows, int limit) {
        TreeMap<Long, List<DashboardEvent>> sorted = new TreeMap<>(windows);
        while (sorted.size() > limit) {
            sorted.pollFirstEntry();
        }
        return sorted;
    }

    private static double percentile(double[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(p * sorted.length))];
    }
}
