package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.attribution.CompletenessGap;
import io.explainstream.render.ExplanationJson;
import io.explainstream.render.ExplanationViews;
import io.explainstream.render.Source;
import io.explainstream.schema.Explanation;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One explanation as the dashboard holds it: the record, the text rebuilt from its token pieces
 * (null pieces of a redacted record stay out of it), and the relative delta, computed once.
 *
 * @param sequence the order the dashboard received it in, for the feed and SSE resumption
 */
record DashboardEvent(long sequence, Explanation record, String promptText, String responseText, double relativeDelta) {

    static DashboardEvent of(long sequence, Explanation record) {
        Source source = ExplanationViews.source(record);
        double relative = CompletenessGap.relativeDelta(doubles(record.getResponseLogprobs()), doubles(record.getBaselineLogprobs()),
                doubles(record.getConvergenceDelta()), record.getSequenceDelta());
        return new DashboardEvent(sequence, record, source.prompt(), source.response(), relative);
    }

    String eventId() {
        return record.getEventId();
    }

    String modelId() {
        return record.getModelId();
    }

    String method() {
        return record.getMethod().name();
    }

    Instant eventTime() {
        return record.getEventTime();
    }

    Map<String, String> metadata() {
        Map<String, String> metadata = new TreeMap<>();
        record.getMetadata().forEach((key, value) -> metadata.put(key.toString(), value == null ? null : value.toString()));
        return metadata;
    }

    String topSegment() {
        return record.getTopSegment();
    }

    boolean deltaOverThreshold(double warnAbove) {
        return CompletenessGap.overThreshold(relativeDelta, warnAbove);
    }

    /** Whether the prompt or response text contains {@code needle}, ignoring case; a redacted record matches on nothing it does not carry. */
    boolean textContains(String needle) {
        String lower = needle.toLowerCase(Locale.ROOT);
        return (promptText != null && promptText.toLowerCase(Locale.ROOT).contains(lower))
                || (responseText != null && responseText.toLowerCase(Locale.ROOT).contains(lower));
    }

    /** The feed's line: what the list shows and filters on, without the score arrays. */
    ObjectNode feedJson(double warnAbove) {
        ObjectNode node = ExplanationJson.tree(record.getFlags());
        ObjectNode line = node.objectNode();
        line.put("seq", sequence);
        line.put("event_id", eventId());
        line.put("event_time", eventTime().toEpochMilli());
        line.put("processing_time", record.getProcessingTime().toEpochMilli());
        line.put("model_id", modelId());
        line.put("method", method());
        line.put("top_segment", topSegment());
        line.put("prompt_tokens", record.getPromptTokens().size());
        line.put("response_tokens", record.getResponseTokens().size());
        line.put("attribution_latency_ms", record.getAttributionLatencyMs());
        putNumber(line, "relative_delta", relativeDelta);
        line.put("delta_warning", deltaOverThreshold(warnAbove));
        line.put("response_text", responseText);
        line.set("flags", node);
        ObjectNode meta = line.putObject("metadata");
        metadata().forEach(meta::put);
        return line;
    }

    /** The whole record (the Avro fields, as {@code tail --format json} writes them) and what the dashboard adds. */
    ObjectNode detailJson(double warnAbove) {
        ObjectNode node = ExplanationJson.tree(record);
        node.put("seq", sequence);
        putNumber(node, "relative_delta", relativeDelta);
        node.put("delta_warn_above", warnAbove);
        node.put("delta_warning", deltaOverThreshold(warnAbove));
        node.put("prompt_text", promptText);
        node.put("response_text", responseText);
        return node;
    }

    private static void putNumber(ObjectNode node, String field, double value) {
        if (Double.isFinite(value)) {
            node.put(field, value);
        } else if (Double.isInfinite(value)) {
            node.put(field, "Infinity");
        } else {
            node.putNull(field);
        }
    }

    private static double[] doubles(java.util.List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
