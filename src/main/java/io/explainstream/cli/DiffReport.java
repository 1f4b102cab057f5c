package io.explainstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.diff.DeadLetterFindings;
import io.explainstream.diff.DiffAggregate;
import io.explainstream.diff.DiffMeasures;
import io.explainstream.diff.DiffRun;
import io.explainstream.diff.EventDiff;
import io.explainstream.diff.Measure;
import io.explainstream.diff.SpillJoin;
import io.explainstream.render.Aggregate;
import io.explainstream.render.ExplanationViews;
import io.explainstream.render.HtmlReport;
import io.explainstream.render.TokenText;
import io.explainstream.schema.Explanation;
import io.explainstream.text.Columns;
import io.explainstream.text.Shortened;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/** A diff's result as text for people, JSON for programs, or an HTML page with both heatmaps of each listed event. */
final class DiffReport {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** The most characters of a dead letter's reason in the text report (JSON has them whole). */
    private static final int REASON_CHARS = 200;
    /** The group tables' name cells: at least this wide (the measures' names and short segment names fit)... */
    private static final int NAME_COLUMNS = 24;
    /** ...and at most this wide; a longer name is cut with an ellipsis. */
    private static final int MAX_NAME_COLUMNS = 40;

    private DiffReport() {}

    /** What the report says of a replay that has not finished, first thing after its title. */
    static String unfinishedLine(String replayId) {
        return "replay " + TokenText.visible(replayId) + " has not finished (it is running, or was stopped before the end of its range; run it"
                + " again to resume): the events it has not reached yet count as one-sided, and the measures cover only those it explained";
    }

    /** @param unfinished the replays of the two sides that have not finished */
    static String text(DiffRun.Result result, List<String> unfinished) {
        return text(result, unfinished, true);
    }

    /** @param tables whether the group tables are in the text (the HTML page has them as tables of its own) */
    private static String text(DiffRun.Result result, List<String> unfinished, boolean tables) {
        DiffRun.Request request = result.request();
        DiffAggregate aggregate = result.aggregate();
        String againstName = againstName(request);
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "diff %s: %s vs %s · top-%d · %.1f s%n", request.diffId(), request.replay().describe(),
                request.against().describe(), request.topK(), result.seconds()));
        // An archived report says what it covers: the range and the grouping were on standard error only (helper-76).
        text.append("range ").append(request.range()).append(" · groups by ").append(TokenText.visible(request.grouping())).append('\n');
        unfinished.forEach(id -> text.append("warning: ").append(unfinishedLine(id)).append('\n'));
        text.append(String.format(Locale.ROOT, "events: %d joined · %d replay only · %d %s only · %d compared on words (tokenizations differ)"
                + " · top segment changed in %d%n", aggregate.joined(), aggregate.replayOnly(), aggregate.againstOnly(), againstName,
                aggregate.wordsBasis(), aggregate.topSegmentChanged()));
        if (result.counts().notExplanations() > 0 || result.counts().duplicates() > 0) {
            text.append(String.format(Locale.ROOT, "skipped: %d records not Explanations%s · %d duplicates (latest kept)%n",
                    result.counts().notExplanations(), result.counts().firstNotExplanation() == null ? "" : " (first: " + TokenText.visible(result.counts().firstNotExplanation()) + ")",
                    result.counts().duplicates()));
        }
        text.append(deadLetterLine(result, againstName));
        if (!aggregate.replayOnlyEvents().isEmpty()) {
            text.append("replay only: ").append(oneSided(aggregate.replayOnlyEvents(), "dead-lettered " + (request.against().isLive() ? "live" : "by " + againstName)))
                    .append(aggregate.replayOnly() > aggregate.replayOnlyEvents().size() ? ", …" : "").append('\n');
        }
        if (!aggregate.againstOnlyEvents().isEmpty()) {
            text.append(againstName).append(" only: ").append(oneSided(aggregate.againstOnlyEvents(), "dead-lettered by the replay"))
                    .append(aggregate.againstOnly() > aggregate.againstOnlyEvents().size() ? ", …" : "").append('\n');
        }
        if (!aggregate.unexplainedEvents().isEmpty()) {
            long unexplained = aggregate.deadLetteredOnBoth() + aggregate.deadLetteredInReplayOnly() + aggregate.deadLetteredAgainstOnly();
            boolean more = unexplained > aggregate.unexplainedEvents().size();
            // One event a line: twenty on one line, each with both sides' reasons, ran to 6,000 characters.
            text.append("explained on neither side (").append(unexplained).append(more ? "; the first " + aggregate.unexplainedEvents().size() : "")
                    .append("):\n");
            aggregate.unexplainedEvents().forEach(event -> text.append("  ").append(unexplained(event, againstName)).append('\n'));
            if (more) {
                text.append("  …\n");
            }
        }
        if (tables) {
            List<String> titles = tabled(aggregate).stream().map(DiffReport::title).map(TokenText::visible).toList();
            List<String> shareNames = aggregate.shareChanges().keySet().stream().map(name -> "share " + TokenText.name(name)).toList();
            int columns = nameColumns(titles, shareNames);
            for (String group : tabled(aggregate)) {
                text.append(System.lineSeparator()).append(header(TokenText.visible(title(group)), columns));
                for (Measure measure : Measure.values()) {
                    aggregate.distribution(group, measure).ifPresent(d -> text.append(row(measure.key(), d, columns)));
                }
                if (group.equals(DiffAggregate.ALL)) {
                    aggregate.shareChanges().forEach((name, d) -> text.append(row("share " + TokenText.name(name), d, columns)));
                }
            }
        }
        List<DiffAggregate.Listed> largest = aggregate.largest();
        if (!largest.isEmpty()) {
            text.append(String.format(Locale.ROOT, "%n%d most-changed events (change = mean of 1-jaccard, (1-spearman)/2, max share change):%n",
                    largest.size()));
            for (DiffAggregate.Listed listed : largest) {
                EventDiff diff = listed.diff();
                text.append(String.format(Locale.ROOT, "  %s  change %.3f · jaccard %s · spearman %s · max share change %.3f · top segment %s · Δdelta %s"
                        + " · Δlogp %+.4f%s%n", TokenText.eventId(diff.eventId()), diff.change(), number(diff.jaccard()), number(diff.spearman()), diff.maxShareChange(),
                        TokenText.visible(diff.topSegmentChanged() ? diff.againstTopSegment() + " → " + diff.replayTopSegment() : "=" + diff.replayTopSegment()),
                        signed(diff.deltaChange()), diff.logProbChange(), diff.basis() == EventDiff.Basis.WORDS ? " [words: tokenizations differ]" : ""));
                text.append(String.format(Locale.ROOT, "    %-9s %s%n", "replay", TokenText.visible(String.join(" · ", diff.replayTop()))));
                text.append(String.format(Locale.ROOT, "    %-9s %s%n", againstName, TokenText.visible(String.join(" · ", diff.againstTop()))));
            }
        }
        return text.toString();
    }

    /**
     * Each side's dead letters in the range, and what they tell of the events on one side only: an
     * event the replay refused (a lower prompt limit) is not an event it missed.
     */
    private static String deadLetterLine(DiffRun.Result result, String againstName) {
        DiffAggregate aggregate = result.aggregate();
        DeadLetterFindings findings = DeadLetterFindings.of(aggregate, result.counts());
        StringBuilder line = new StringBuilder("dead letters in range: replay ").append(deadLetters(result.counts().replayDeadLetters())).append(" · ")
                .append(againstName).append(' ').append(deadLetters(result.counts().againstDeadLetters()));
        line.append(String.format(Locale.ROOT, " · %s on both sides · of the %d replay only, %s dead-lettered %s · of the %d %s only, %s dead-lettered"
                + " by the replay%n", count(findings.onBoth()), aggregate.replayOnly(), count(findings.replayOnlyDeadLetteredAgainst()),
                result.request().against().isLive() ? "live" : "by " + againstName, aggregate.againstOnly(), againstName,
                count(findings.againstOnlyDeadLetteredInReplay())));
        return line.toString();
    }

    /** A count, or "—" where it needs dead letters that were not read. */
    private static String count(Long value) {
        return value == null ? "—" : value.toString();
    }

    /**
     * A dead letter's reason for the text report: at most {@link #REASON_CHARS} characters, control
     * characters escaped (1,500 reasons of 3,000 characters made one line of 127,716).
     */
    private static String shortReason(String reason) {
        return Shortened.cut(TokenText.visible(reason), REASON_CHARS);
    }

    private static String deadLetters(SpillJoin.DeadLetters deadLetters) {
        if (deadLetters.unread() != null) {
            return "not read (" + TokenText.visible(deadLetters.unread()) + ")";
        }
        return deadLetters.total() + " (" + TokenText.visible(deadLetters.topic())
                + (deadLetters.withoutEventId() > 0 ? "; " + deadLetters.withoutEventId() + " without an event id" : "") + ")";
    }

    /** An event explained on neither side, with each side's reason where it dead-lettered the event. */
    private static String unexplained(DiffAggregate.Unexplained event, String againstName) {
        if (event.replayDeadLetter() != null && event.replayDeadLetter().equals(event.againstDeadLetter())) {
            return TokenText.eventId(event.eventId()) + " [both: " + shortReason(event.replayDeadLetter()) + "]";
        }
        List<String> reasons = new ArrayList<>();
        if (event.replayDeadLetter() != null) {
            reasons.add("replay: " + shortReason(event.replayDeadLetter()));
        }
        if (event.againstDeadLetter() != null) {
            reasons.add(againstName + ": " + shortReason(event.againstDeadLetter()));
        }
        return TokenText.eventId(event.eventId()) + " [" + String.join("; ", reasons) + "]";
    }

    /** Event ids, each with the other side's dead letter where there is one. */
    private static String oneSided(List<DiffAggregate.OneSided> events, String deadLettered) {
        return events.stream().map(event -> TokenText.eventId(event.eventId())
                + (event.otherSideDeadLetter() == null ? "" : " [" + deadLettered + ": " + shortReason(event.otherSideDeadLetter()) + "]"))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    static String json(DiffRun.Result result, List<String> unfinished) {
        DiffRun.Request request = result.request();
        DiffAggregate aggregate = result.aggregate();
        ObjectNode root = NODES.objectNode();
        root.put("diff_id", request.diffId());
        root.put("replay_id", request.replay().replayId());
        root.put("replay_topic", request.replay().topic());
        root.put("against_topic", request.against().topic());
        root.put("against_replay_id", request.against().replayId());
        root.put("top_k", request.topK());
        // The range compared (null: open at that end) and the grouping: an archived report says what it covers.
        root.put("from", request.fromMs() == Long.MIN_VALUE ? null : java.time.Instant.ofEpochMilli(request.fromMs()).toString());
        root.put("to", request.toMs() == Long.MAX_VALUE ? null : java.time.Instant.ofEpochMilli(request.toMs()).toString());
        strings(root.putArray("group_by"), request.groupBy());
        root.put("started", result.started().toString());
        root.put("seconds", result.seconds());
        strings(root.putArray("unfinished_replays"), unfinished);
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
        deadLetters(root.putObject("replay_dead_letters"), result.counts().replayDeadLetters());
        deadLetters(root.putObject("against_dead_letters"), result.counts().againstDeadLetters());
        DeadLetterFindings findings = DeadLetterFindings.of(aggregate, result.counts());
        root.put("replay_only_dead_lettered_against", findings.replayOnlyDeadLetteredAgainst());
        root.put("against_only_dead_lettered_in_replay", findings.againstOnlyDeadLetteredInReplay());
        root.put("dead_lettered_on_both", findings.onBoth());
        root.put("dead_lettered_in_replay_only", findings.inReplayOnly());
        root.put("dead_lettered_against_only", findings.againstOnly());
        ObjectNode reasons = root.putObject("one_sided_dead_letters");
        aggregate.replayOnlyEvents().stream().filter(e -> e.otherSideDeadLetter() != null).forEach(e -> reasons.put(e.eventId(), e.otherSideDeadLetter()));
        aggregate.againstOnlyEvents().stream().filter(e -> e.otherSideDeadLetter() != null).forEach(e -> reasons.put(e.eventId(), e.otherSideDeadLetter()));
        ArrayNode unexplained = root.putArray("explained_on_neither_side");
        for (DiffAggregate.Unexplained event : aggregate.unexplainedEvents()) {
            unexplained.addObject().put("event_id", event.eventId()).put("replay_dead_letter", event.replayDeadLetter())
                    .put("against_dead_letter", event.againstDeadLetter());
        }
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

    /** The groups that get a table: all events, and each group where there are two or more (one alone has all events' numbers). */
    private static List<String> tabled(DiffAggregate aggregate) {
        return aggregate.groups().stream().filter(group -> aggregate.groups().size() != 2 || group.equals(DiffAggregate.ALL)).toList();
    }

    private static String title(String group) {
        return group.equals(DiffAggregate.ALL) ? "all events" : "group " + group;
    }

    /**
     * The group tables as HTML tables: a browser lines up their columns whatever the script of a
     * name, where the text's padding in terminal columns does not (a CJK name without a CJK font in
     * the monospace face, an emoji), and each name is whole (the text cuts at 40 columns).
     */
    static String htmlTables(DiffAggregate aggregate) {
        StringBuilder html = new StringBuilder("<section class=\"distributions\" id=\"distributions\">\n<h2>Distributions</h2>\n");
        for (String group : tabled(aggregate)) {
            html.append("<table class=\"summary\"><tr><th>").append(HtmlReport.escape(TokenText.visible(title(group))))
                    .append("</th><th>p10</th><th>p50</th><th>p90</th><th>events</th></tr>\n");
            for (Measure measure : Measure.values()) {
                aggregate.distribution(group, measure).ifPresent(d -> htmlRow(html, measure.key(), d));
            }
            if (group.equals(DiffAggregate.ALL)) {
                aggregate.shareChanges().forEach((name, d) -> htmlRow(html, "share " + TokenText.name(name), d));
            }
            html.append("</table>\n");
        }
        return html.append("</section>\n").toString();
    }

    private static void htmlRow(StringBuilder html, String name, DiffAggregate.Distribution d) {
        html.append("<tr><td>").append(HtmlReport.escape(name)).append("</td>");
        for (double value : new double[] {d.p10(), d.p50(), d.p90()}) {
            html.append(String.format(Locale.ROOT, "<td class=\"num\">%+.4f</td>", shown(value)));
        }
        html.append("<td class=\"num\">").append(d.count()).append("</td></tr>\n");
    }

    /** The text summary, the group tables, then each listed event's two heatmaps, the replay's above the other side's. */
    static String html(DiffRun.Result result, List<String> unfinished) {
        List<HtmlReport.Entry> entries = new ArrayList<>();
        String againstName = againstName(result.request());
        for (DiffAggregate.Listed listed : result.aggregate().largest()) {
            entries.add(entry(String.format(Locale.ROOT, "%s · replay %s · change %.3f", listed.diff().eventId(), result.request().replay().replayId(),
                    listed.diff().change()), listed.replay()));
            entries.add(entry(listed.diff().eventId() + " · " + againstName, listed.against()));
        }
        String page = HtmlReport.render("ExplainStream diff " + result.request().diffId(), entries, Aggregate.SEGMENTS);
        // pre-wrap: a long dead-letter reason wraps rather than running off the page sideways.
        String summary = "<section class=\"summary\" id=\"summary\"><pre style=\"white-space:pre-wrap\">" + HtmlReport.escape(text(result, unfinished, false))
                + "</pre></section>\n" + htmlTables(result.aggregate());
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

    private static void deadLetters(ObjectNode node, SpillJoin.DeadLetters deadLetters) {
        node.put("topic", deadLetters.topic());
        node.put("unread", deadLetters.unread());
        if (deadLetters.unread() == null) {
            node.put("total", deadLetters.total()).put("without_event_id", deadLetters.withoutEventId());
        }
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

    /**
     * The width of the rows' name cells: the widest row name, or group title less the rows' indent of
     * two, within [NAME_COLUMNS, MAX_NAME_COLUMNS], so that every table of the report lines up and
     * a long segment or group name neither pushes its numbers out nor makes the report too wide.
     */
    static int nameColumns(List<String> titles, List<String> rowNames) {
        int widest = Math.max(titles.stream().mapToInt(title -> Columns.width(title) - 2).max().orElse(0),
                rowNames.stream().mapToInt(Columns::width).max().orElse(0));
        return Math.max(NAME_COLUMNS, Math.min(MAX_NAME_COLUMNS, widest));
    }

    /**
     * The head of a group's table: its title, then the quantiles' and the count's columns. Cells are
     * padded and cut in terminal columns (a group may be 中文), the title two columns wider than the rows' names.
     */
    static String header(String title, int nameColumns) {
        return String.format(Locale.ROOT, "%s %9s %9s %9s %7s%n", Columns.padEnd(Columns.fit(title, nameColumns + 2), nameColumns + 2), "p10", "p50", "p90",
                "events");
    }

    /** A measure's or segment's row of the table. */
    static String row(String name, DiffAggregate.Distribution d, int nameColumns) {
        return String.format(Locale.ROOT, "  %s %+9.4f %+9.4f %+9.4f %7d%n", Columns.padEnd(Columns.fit(name, nameColumns), nameColumns), shown(d.p10()),
                shown(d.p50()), shown(d.p90()), d.count());
    }

    /** A value as the table's four decimals show it: one that rounds to zero reads +0.0000, not -0.0000 (float noise of an unchanged event). */
    private static double shown(double value) {
        return Math.abs(value) < 0.00005 ? 0.0 : value;
    }

    /** A change with its sign, or "—" where a side has none (a gradient method's completeness gap). */
    private static String signed(OptionalDouble value) {
        return value.isPresent() ? String.format(Locale.ROOT, "%+.4f", value.getAsDouble()) : "—";
    }

    private static String number(OptionalDouble value) {
        return value.isPresent() ? String.format(Locale.ROOT, "%.3f", value.getAsDouble()) : "—";
    }
}
