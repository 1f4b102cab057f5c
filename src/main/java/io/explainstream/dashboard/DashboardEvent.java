package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.attribution.CompletenessGap;
import io.explainstream.render.ExplanationJson;
import io.explainstream.render.ExplanationViews;
import io.explainstream.render.Source;
import io.explainstream.render.TokenGroups;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.PromptToken;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One explanation as the dashboard holds it: the record, the text rebuilt from its token pieces
 * (null for a redacted record, which carries no text), and the relative delta, computed once.
 *
 * @param sequence the order the dashboard received it in, for the feed and SSE resumption
 */
record DashboardEvent(long sequence, Explanation record, String promptText, String responseText, double relativeDelta) {

    static DashboardEvent of(long sequence, Explanation record) {
        Source source = ExplanationViews.source(record);
        double relative = CompletenessGap.relativeDelta(doubles(record.getResponseLogprobs()), doubles(record.getBaselineLogprobs()),
                doubles(record.getConvergenceDelta()), record.getSequenceDelta());
        // A redacted record's pieces are null: its "text" would be placeholders, which a search could match.
        boolean redacted = record.getFlags().getRedacted();
        return new DashboardEvent(sequence, record, redacted ? null : source.prompt(), redacted ? null : source.response(), relative);
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

    /**
     * Whether the prompt or response text contains {@code needle}, ignoring case and how accents are
     * spelt (é as one character or as e + U+0301: both are compared in NFC); a redacted record
     * matches on nothing it does not carry.
     */
    boolean textContains(String needle) {
        String wanted = searchForm(needle);
        return (promptText != null && searchForm(promptText).contains(wanted)) || (responseText != null && searchForm(responseText).contains(wanted));
    }

    private static String searchForm(String text) {
        return java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC).toLowerCase(Locale.ROOT);
    }

    /**
     * The feed's line: what the list shows and filters on, without the score arrays.
     *
     * @param explanationsHeld how many explanations of this event id the dashboard holds, this one the newest
     */
    ObjectNode feedJson(double warnAbove, int explanationsHeld) {
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
        line.put("explanations_held", explanationsHeld);
        line.set("flags", node);
        ObjectNode meta = line.putObject("metadata");
        metadata().forEach(meta::put);
        return line;
    }

    /**
     * The whole record (the Avro fields, as {@code tail --format json} writes them) and what the dashboard adds.
     *
     * @param explanationsHeld how many explanations of this event id the dashboard holds, this one the newest
     */
    ObjectNode detailJson(double warnAbove, int explanationsHeld) {
        ObjectNode node = ExplanationJson.tree(record);
        node.put("seq", sequence);
        putNumber(node, "relative_delta", relativeDelta);
        node.put("delta_warn_above", warnAbove);
        node.put("delta_warning", deltaOverThreshold(warnAbove));
        node.put("explanations_held", explanationsHeld);
        node.put("prompt_text", promptText);
        node.put("response_text", responseText);
        node.set("prompt_groups", promptGroups(node));
        node.set("response_groups", groups(node, pieces(record.getResponseTokens().stream().map(t -> new TokenGroups.Piece(t.getText(), t.getStart(),
                t.getEnd())).toList())));
        return node;
    }

    /**
     * The prompt's cells as the CLI draws them ({@link TokenGroups#characters}: the byte pieces of
     * one character are one cell), each with its score as the HTML report defines a group's: the
     * sum over its attributed tokens of the raw and of the normalized scores.
     */
    private ArrayNode promptGroups(ObjectNode factory) {
        List<PromptToken> tokens = record.getPromptTokens();
        List<TokenGroups.Group> groups = pieces(tokens.stream().map(t -> new TokenGroups.Piece(t.getText(), t.getStart(), t.getEnd(), t.getSegment())).toList());
        ArrayNode cells = groups(factory, groups);
        for (int g = 0; g < groups.size(); g++) {
            double raw = 0;
            double normalized = 0;
            boolean attributed = false;
            for (int i = groups.get(g).first(); i <= groups.get(g).last(); i++) {
                if (tokens.get(i).getAttributed()) {
                    attributed = true;
                    raw += record.getSeqAttr().get(i);
                    normalized += record.getSeqAttrNormalized().get(i);
                }
            }
            ObjectNode cell = (ObjectNode) cells.get(g);
            cell.put("attributed", attributed);
            putNumber(cell, "score", raw);
            putNumber(cell, "score_normalized", normalized);
        }
        return cells;
    }

    private static List<TokenGroups.Group> pieces(List<TokenGroups.Piece> pieces) {
        return TokenGroups.characters(pieces);
    }

    /** Each group's tokens, kind and text; no text when the record carries none (redacted). */
    private ArrayNode groups(ObjectNode factory, List<TokenGroups.Group> groups) {
        ArrayNode cells = factory.arrayNode();
        boolean redacted = record.getFlags().getRedacted();
        for (TokenGroups.Group group : groups) {
            ObjectNode cell = cells.addObject();
            cell.put("first", group.first());
            cell.put("last", group.last());
            cell.put("kind", group.kind().name());
            cell.put("text", redacted ? null : group.text());
        }
        return cells;
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

    private static double[] doubles(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
