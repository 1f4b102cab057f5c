package io.explainstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.diff.DiffAggregate;
import io.explainstream.diff.DiffMeasures;
import io.explainstream.diff.DiffRun;
import io.explainstream.diff.EventDiff;
import io.explainstream.diff.Measure;
import io.explainstream.render.Aggregate;
import io.explainstream.render.ExplanationViews;
import io.explainstream.render.HtmlReport;
import io.explainstream.render.TokenText;
import io.explainstream.schema.Explanation;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/** A diff's result as text for people, JSON for programs, or an HTML page with both heatmaps of each listed event. */
final class DiffReport {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private DiffReport() {}

    static String text(DiffRun.Result result) {
        DiffRun.Request request = result.request();
        DiffAggregate aggregate = result.aggregate();
        String againstName = againstName(request);
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "diff %s: %s vs %s · top-%d · %.1f s%n", request.diffId(), request.replay().describe(),
                request.against().describe(), request.topK(), result.seconds()));
        text.append(String.format(Locale.ROOT, "events: %d joined · %d replay only · %d %s only · %d compared on words (tokenizations differ)"
                + " · top segment changed in %d%n", aggregate.joined(), aggregate.replayOnly(), aggregate.againstOnly(), againstName,
                aggregate.wordsBasis(), aggregate.topSegmentChanged()));
        if (result.counts().notExplanations() > 0 || result.counts().duplicates() > 0) {
            text.append(String.format(Locale.ROOT, "skipped: %d records not Explanations%s · %d duplicates (latest kept)%n",
                    result.counts().notExplanations(), result.counts().firstNotExplanation() == null ? "" : " (first: " + TokenText.visible(result.counts().firstNotExplanation()) + ")",
                    result.counts().duplicates()));
        }
        if (!aggregate.replayOnlyIds().isEmpty()) {
            text.append("replay only: ").append(TokenText.visible(String.join(", ", aggregate.replayOnlyIds()))).append(aggregate.replayOnly() > aggregate.replayOnlyIds().size()
                    ? ", …" : "").append('\n');
        }
        if (!aggregate.againstOnlyIds().isEmpty()) {
            text.append(againstName).append(" only: ").append(TokenText.visible(String.join(", ", aggregate.againstOnlyIds())))
                    .append(aggregate.againstOnly() > aggregate.againstOnlyIds().size() ? ", …" : "").append('\n');
        }
        for (String group : aggregate.groups()) {
            if (aggregate.groups().size() == 2 && !group.equals(DiffAggregate.ALL)) {
                continue; // one group only: the same numbers as all events
            }
            text.append(String.format(Locale.ROOT, "%n%-26s %9s %9s %9s %7s%n", group.equals(DiffAggregate.ALL) ? "all events" : "group " + TokenText.visible(group), "p10", "p50",
                    "p90", "events"));
            for (Measure measure : Measure.values()) {
                aggregate.distribution(group, measure).ifPresent(d -> text.append(String.format(Locale.ROOT, "  %-24s %+9.4f %+9.4f %+9.4f %7d%n",
                        measure.key(), d.p10(), d.p50(), d.p90(), d.count())));
            }
            if (group.equals(DiffAggregate.ALL)) {
                aggregate.shareChanges().forEach((name, d) -> text.append(String.format(Locale.ROOT, "  %-24s %+9.4f %+9.4f %+9.4f %7d%n",
                        "share " + TokenText.visible(name), d.p10(), d.p50(), d.p90(), d.count())));
            }
        }
        List<DiffAggregate.Listed> largest = aggregate.largest();
        if (!largest.isEmpty()) {
            text.append(String.format(Locale.ROOT, "%n%d most-changed events (change = mean of 1-jaccard, (1-spearman)/2, max share change):%n",
                    largest.size()));
            for (DiffAggregate.Listed listed : largest) {
                EventDiff diff = listed.diff();
                text.append(String.format(Locale.ROOT, "  %s  change %.3f · jaccard %s · spearman %s · max share change %.3f · top segment %s · Δdelta %s"
                        + " · Δlogp %+.4f%s%n", TokenText.visible(diff.eventId()), diff.change(), number(diff.jaccard()), number(diff.spearman()), diff.maxShareChange(),
                        TokenText.visible(diff.topSegmentChanged() ? diff.againstTopSegment() + " → " + diff.replayTopSegment() : "=" + diff.replayTopSegment()),
                        signed(diff.deltaChange()), diff.logProbChange(), diff.basis() == EventDiff.Basis.WORDS ? " [words: tokenizations differ]" : ""));
                text.append(String.format(Locale.ROOT, "    %-9s %s%n", "replay", TokenText.visible(String.join(" · ", diff.replayTop()))));
                text.append(String.format(Locale.ROOT, "    %-9s %s%n", againstName, TokenText.visible(String.join(" · ", diff.againstTop()))));
            }
        }
        return text.toString();
    }

    static String json(DiffRun.Result result) {
        DiffRun.Request request = result.request();
        DiffAggregate aggregate = result.aggregate();
        ObjectNode root = NODES.objectNode();
        root.put("diff_id", request.diffId());
        root.put("replay_id", request.replay().replayId());
        root.put("replay_topic", request.replay().topic());
        root.put("against_topic", request.against().topic());
        root.put("against_replay_id", request.against().replayId());
        root.put("top_k", request.topK());
        root.put("started", result.started().toString());
        root.put("seconds", result.seconds());
        root.put("joined", aggregate.joined());
        root.put("replay_only", aggregate.replayOnly());
        root.put("against_only", aggregate.againstOnly());
        root.put("words_basis", aggregate.wordsBasis());
        root.put("top_segment_changed", aggregate.topSegmentChanged());
        root.put("not_explanations", result.counts().notExplanations());
        root.put("first_not_explanation", result.counts().firstNotExplanation());
        root.put("duplicates", result.counts().duplicates());
        root.put("published", result.published());
        strings(root.putArray("replay_only_ids"), aggregate.replayOnlyIds());
        strings(root.putArray("against_only_ids"), aggregate.againstOnlyIds());
        ObjectNode groups = root.putObject("distributions");
        for (String group : aggregate.groups()) {
            ObjectNode measures = groups.putObject(group);
            for (Measure measure : Measure.values()) {
                aggregate.distribution(group, measure).ifPresent(d -> distribution(measures.putObject(measure.key()), d));
            }
        }
        ObjectNode shares = root.putObject("share_change_by_segment");
        aggregate.shareChanges().forEach((name, d) -> distribution(shares.putObject(name), d));
        ArrayNode largest = root.putArray("largest_changes");
        for (DiffAggregate.Listed listed : aggregate.largest()) {
            largest.add(event(listed.diff()));
        }
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root) + System.lineSeparator();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One event's comparison as JSON: the fields of the Avro ExplanationDiff. */
    static ObjectNode event(EventDiff diff) {
        ObjectNode node = NODES.objectNode();
        node.put("event_id", diff.eventId());
        node.put("group", diff.group());
        node.put("basis", diff.basis().name());
        put(node, "top_k_jaccard", diff.jaccard());
        put(node, "spearman", diff.spearman());
        node.put("compared_items", diff.comparedItems());
        ArrayNode segments = node.putArray("segment_changes");
        for (DiffMeasures.ShareChange change : diff.segmentChanges()) {
            segments.addObject().put("name", change.name()).put("replay_share", change.replayShare()).put("against_share", change.againstShare())
                    .put("change", change.change());
        }
        node.put("max_share_change", diff.maxShareChange());
        put(node, "sequence_delta_change", diff.deltaChange());
        node.put("response_logprob_change", diff.logProbChange());
        node.put("top_segment_changed", diff.topSegmentChanged());
        node.put("replay_top_segment", diff.replayTopSegment());
        node.put("against_top_segment", diff.againstTopSegment());
        node.put("change", diff.change());
        strings(node.putArray("replay_top"), diff.replayTop());
        strings(node.putArray("against_top"), diff.againstTop());
        return node;
    }

    /** The text summary, then each listed event's two heatmaps, the replay's above the other side's. */
    static String html(DiffRun.Result result) {
        List<HtmlReport.Entry> entries = new ArrayList<>();
        String againstName = againstName(result.request());
        for (DiffAggregate.Listed listed : result.aggregate().largest()) {
            entries.add(entry(String.format(Locale.ROOT, "%s · replay %s · change %.3f", listed.diff().eventId(), result.request().replay().replayId(),
                    listed.diff().change()), listed.replay()));
            entries.add(entry(listed.diff().eventId() + " · " + againstName, listed.against()));
        }
        String page = HtmlReport.render("ExplainStream diff " + result.request().diffId(), entries, Aggregate.SEGMENTS);
        String summary = "<section class=\"summary\" id=\"summary\"><pre>" + HtmlReport.escape(text(result)) + "</pre></section>\n";
        int heading = page.indexOf("</h1>");
        return page.substring(0, heading + 6) + summary + page.substring(heading + 6);
    }

    private static HtmlReport.Entry entry(String title, Explanation explanation) {
        return new HtmlReport.Entry(title, ExplanationViews.toAttribution(explanation), ExplanationViews.summary(explanation),
                ExplanationViews.source(explanation));
    }

    private static String againstName(DiffRun.Request request) {
        return request.against().isLive() ? "live" : request.against().replayId();
    }

    private static void distribution(ObjectNode node, DiffAggregate.Distribution d) {
        node.put("count", d.count()).put("p10", d.p10()).put("p50", d.p50()).put("p90", d.p90());
    }

    private static void put(ObjectNode node, String name, OptionalDouble value) {
        if (value.isPresent()) {
            node.put(name, value.getAsDouble());
        } else {
            node.putNull(name);
        }
    }

    private static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    /** A change with its sign, or "—" where a side has none (a gradient method's completeness gap). */
    private static String signed(OptionalDouble value) {
        return value.isPresent() ? String.format(Locale.ROOT, "%+.4f", value.getAsDouble()) : "—";
    }

    private static String number(OptionalDouble value) {
        return value.isPresent() ? String.format(Locale.ROOT, "%.3f", value.getAsDouble()) : "—";
    }
}
