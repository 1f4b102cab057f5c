package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.CompletenessGap;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.attribution.summary.Summary;
import io.explainstream.text.Shortened;
import io.explainstream.tokenize.Token;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * One self-contained HTML page (no scripts, no external files) of one or more explanations: the
 * prompt with tokens colored by score on a diverging scale symmetric around 0, the token matrix
 * as a table heatmap, and every value in a tooltip. A page of many events (the demo's) starts
 * with a summary of the run and an index that links to each event.
 *
 * <p>The prompt is shown as text, not as vocabulary pieces: byte pieces are decoded into the
 * characters they spell, newlines break the line, and the chat template's markup is one colored
 * unit ({@link TokenGroups}); such a unit's color is the sum of its tokens' scores (scores add up
 * over tokens), and its tooltip lists each token.
 */
public final class HtmlReport {

    /**
     * One explanation and what it explains.
     *
     * @param summary its segments and words; null when it has none (the page then shows tokens)
     * @param details the event's time and metadata, or null (a single explanation of the CLI)
     */
    public record Entry(String title, Attribution attribution, Summary summary, Source source, Details details) {

        public Entry(String title, Attribution attribution, Source source) {
            this(title, attribution, null, source, null);
        }

        public Entry(String title, Attribution attribution, Summary summary, Source source) {
            this(title, attribution, summary, source, null);
        }

        public Entry(String title, Attribution attribution, Source source, Details details) {
            this(title, attribution, null, source, details);
        }
    }

    /**
     * What a logged event says about itself.
     *
     * @param eventTime when the LLM answered (event time)
     * @param processingTime when it was explained
     * @param sourceModel the model that answered, as logged
     * @param metadata the event's metadata, shown as it is
     * @param notes what was done to the event (truncation, redaction), empty when nothing
     */
    public record Details(Instant eventTime, Instant processingTime, String sourceModel, Map<String, String> metadata, int batchSize,
            double attributionMs, List<String> notes) {}

    /** An event the run could not explain, and why. */
    public record DeadLetter(String key, String stage, String reason) {}

    /**
     * The run a page of explanations comes from.
     *
     * @param sent events sent
     * @param seconds from the first event sent to the last result received
     */
    public record RunSummary(int sent, List<DeadLetter> deadLetters, double seconds, long latencyP50Ms, long latencyP99Ms, double engineMsPerEvent) {}

    /**
     * One closed statistics window of one group, for the trends section.
     *
     * @param relativeDeltaMean mean relative delta of its explanations with a baseline; NaN when none has one
     * @param shares mean share of the attribution mass per segment kind (lower case); empty for windows without segments
     */
    public record Trend(String group, Instant windowStart, Instant windowEnd, long events, long deadLetters, double relativeDeltaMean,
            double relativeDeltaMax, long alerts, Map<String, Double> shares) {

        public Trend {
            shares = Map.copyOf(shares);
        }
    }

    /** How many events the summary lists by convergence delta. */
    static final int WORST_DELTAS = 5;

    /** Segment colors of the share bar, in turn (Tableau 10, light). */
    private static final String[] SEGMENT_COLORS = {"#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
        "#c7c7c7"};

    private static final String STYLE = String.join("\n",
            "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}",
            "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em;border-top:1px solid #ddd;padding-top:1em}",
            ".meta{color:#555;font-size:.9em}.prompt{line-height:2.2;font-family:ui-monospace,Menlo,Consolas,monospace}",
            ".tok{padding:2px 1px;border-radius:3px;white-space:pre;unicode-bidi:isolate}.tok.off{color:#999;border:1px dashed #bbb}",
            ".response{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f6f6f6;padding:.5em;border-radius:4px;white-space:pre-wrap}",
            ".tok.group{outline:1px solid #aaa}.tok.nl{color:#999}",
            "table.summary,table.index,table.details{border-collapse:collapse;font-size:.9em;margin:.5em 0}",
            "table.summary th,table.summary td,table.index th,table.index td,table.details th,table.details td{border-bottom:1px solid #eee;"
                    + "padding:3px 8px;text-align:left;vertical-align:top}",
            "table.details th{color:#555;font-weight:normal}td.num{text-align:right;font-variant-numeric:tabular-nums}",
            "nav.index{max-height:24em;overflow:auto;border:1px solid #eee;padding:0 .5em}",
            "table.matrix{border-collapse:collapse;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8em;margin-top:1em}",
            "table.matrix th,table.matrix td{border:1px solid #eee;padding:3px 5px;text-align:right;white-space:pre}",
            "table.matrix th{background:#fafafa;font-weight:normal}",
            ".shares{display:flex;height:1.6em;border:1px solid #ccc;border-radius:4px;overflow:hidden;font-size:.8em;margin:.5em 0}",
            ".shares div{overflow:hidden;white-space:nowrap;padding:2px 4px;box-sizing:border-box;border-right:1px solid #fff}",
            ".legend{display:inline-block;width:240px;height:12px;background:linear-gradient(to right,rgb(31,119,180),#fff,rgb(214,39,40));"
                    + "vertical-align:middle;border:1px solid #ccc;margin:0 .5em}");

    private HtmlReport() {}

    public static String render(String pageTitle, List<Entry> entries) {
        return render(pageTitle, null, entries, Aggregate.TOKENS, CompletenessGap.DEFAULT_WARN_ABOVE);
    }

    public static String render(String pageTitle, RunSummary run, List<Entry> entries) {
        return render(pageTitle, run, entries, Aggregate.TOKENS, CompletenessGap.DEFAULT_WARN_ABOVE);
    }

    public static String render(String pageTitle, List<Entry> entries, Aggregate aggregate) {
        return render(pageTitle, null, entries, aggregate, CompletenessGap.DEFAULT_WARN_ABOVE);
    }

    /**
     * @param run the run's facts, or null for a page without a summary and index
     * @param aggregate what the prompts show: tokens, words, or segments (a bar of shares above the tokens)
     * @param deltaWarnAbove the relative delta over which an explanation is flagged
     */
    public static String render(String pageTitle, RunSummary run, List<Entry> entries, Aggregate aggregate, double deltaWarnAbove) {
        return render(pageTitle, run, entries, aggregate, deltaWarnAbove, List.of());
    }

    /**
     * @param trends closed statistics windows, shown per group over time after the summary; empty: no trends section
     */
    public static String render(String pageTitle, RunSummary run, List<Entry> entries, Aggregate aggregate, double deltaWarnAbove, List<Trend> trends) {
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        html.append("<title>").append(escape(pageTitle)).append("</title>\n<style>\n").append(STYLE).append("\n</style></head>\n<body>\n");
        html.append("<h1>").append(escape(pageTitle)).append("</h1>\n");
        if (run != null) {
            summary(html, run, entries);
            if (!trends.isEmpty()) {
                trends(html, trends);
            }
            index(html, entries);
        }
        html.append("<p class=\"meta\">negative<span class=\"legend\"></span>positive — a token's color is its score relative to the "
                + "largest |score| of its row; hover for raw and normalized values.</p>\n");
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            section(html, entry, run == null ? null : anchor(i), entry.summary() == null ? Aggregate.TOKENS : aggregate, deltaWarnAbove);
        }
        return html.append("</body></html>\n").toString();
    }

    /** The id of entry i's section: ids made from event ids could clash or hold spaces. */
    static String anchor(int i) {
        return "event-" + (i + 1);
    }

    private static void summary(StringBuilder html, RunSummary summary, List<Entry> entries) {
        html.append("<section class=\"summary\" id=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary\">\n");
        row(html, "events sent", Integer.toString(summary.sent()));
        row(html, "explained", Integer.toString(entries.size()));
        row(html, "dead letters", Integer.toString(summary.deadLetters().size()));
        row(html, "throughput", String.format(Locale.ROOT, "%.1f events/s over %.1f s", entries.size() / Math.max(summary.seconds(), 1e-9),
                summary.seconds()));
        row(html, "end-to-end latency", String.format(Locale.ROOT, "p50 %d ms, p99 %d ms", summary.latencyP50Ms(), summary.latencyP99Ms()));
        row(html, "engine time", String.format(Locale.ROOT, "%.0f ms per event", summary.engineMsPerEvent()));
        html.append("</table>\n");
        if (!summary.deadLetters().isEmpty()) {
            html.append("<h3>Dead letters</h3>\n<table class=\"summary dead-letters\"><tr><th>key</th><th>stage</th><th>reason</th></tr>\n");
            for (DeadLetter letter : summary.deadLetters()) {
                html.append("<tr><td>").append(escape(letter.key())).append("</td><td>").append(escape(letter.stage())).append("</td><td>")
                        .append(escape(letter.reason())).append("</td></tr>\n");
            }
            html.append("</table>\n");
        }
        List<Integer> worst = IntStream.range(0, entries.size()).boxed()
                .filter(i -> entries.get(i).attribution().baselineLogProbs().length > 0)
                .sorted(Comparator.comparingDouble((Integer i) -> entries.get(i).attribution().maxAbsDelta()).reversed())
                .limit(WORST_DELTAS).toList();
        if (!worst.isEmpty()) {
            html.append("<h3>Largest convergence deltas</h3>\n<table class=\"summary worst-deltas\"><tr><th>event</th><th>max |delta|</th>"
                    + "<th>relative to Σ|f(x) − f(b)|</th><th>steps</th></tr>\n");
            for (int i : worst) {
                Attribution attribution = entries.get(i).attribution();
                double relative = CompletenessGap.relativeDelta(attribution);
                html.append(String.format(Locale.ROOT, "<tr><td><a href=\"#%s\">%s</a></td><td class=\"num\">%.4f</td>"
                        + "<td class=\"num\">%s</td><td class=\"num\">%d</td></tr>%n", anchor(i), escape(entries.get(i).title()), attribution.maxAbsDelta(),
                        Double.isNaN(relative) ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * relative), attribution.steps()));
            }
            html.append("</table>\n");
        }
        html.append("</section>\n");
    }

    /**
     * Windows over time, one table per group: events and dead letters as bars to scale, and the
     * mean and largest relative delta. Bars are plain styled divs: the page has no scripts.
     */
    private static void trends(StringBuilder html, List<Trend> trends) {
        html.append("<section class=\"trends\" id=\"trends\">\n<h2>Trends</h2>\n<p class=\"meta\">Closed statistics windows (event time), per group:"
                + " explanations and dead letters, and the relative delta (the share of the change from baseline to input the scores do not"
                + " account for).</p>\n");
        long most = Math.max(1, trends.stream().mapToLong(t -> t.events() + t.deadLetters()).max().orElse(1));
        Map<String, List<Trend>> byGroup = new TreeMap<>();
        trends.forEach(t -> byGroup.computeIfAbsent(t.group(), g -> new ArrayList<>()).add(t));
        byGroup.forEach((group, windows) -> {
            html.append("<h3>").append(escape(group)).append("</h3>\n<table class=\"summary trend\"><tr><th>window</th><th>events</th><th></th>"
                    + "<th>dead letters</th><th>delta mean</th><th>delta max</th><th>shares</th><th>alerts</th></tr>\n");
            windows.stream().sorted(Comparator.comparing(Trend::windowStart)).forEach(t -> html.append(String.format(Locale.ROOT,
                    "<tr><td>%s – %s</td><td class=\"num\">%d</td><td><div style=\"width:%dpx;height:10px;background:#1f77b4;display:inline-block\"></div>"
                            + "<div style=\"width:%dpx;height:10px;background:#d62728;display:inline-block\"></div></td><td class=\"num\">%d</td>"
                            + "<td class=\"num\">%s</td><td class=\"num\">%s</td><td>%s</td><td class=\"num\">%d</td></tr>%n",
                    escape(t.windowStart().toString()), escape(t.windowEnd().toString()), t.events(), 200 * t.events() / most, 200 * t.deadLetters() / most,
                    t.deadLetters(), Double.isNaN(t.relativeDeltaMean()) ? "–" : String.format(Locale.ROOT, "%.2f%%", 100 * t.relativeDeltaMean()),
                    Double.isNaN(t.relativeDeltaMax()) ? "–" : String.format(Locale.ROOT, "%.2f%%", 100 * t.relativeDeltaMax()), trendShares(t.shares()), t.alerts())));
            html.append("</table>\n");
        });
        html.append("</section>\n");
    }

    /** Mean share per segment kind, largest first: which parts of the prompts the window's responses relied on. */
    private static String trendShares(Map<String, Double> shares) {
        if (shares.isEmpty()) {
            return "–";
        }
        return shares.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .map(e -> escape(e.getKey()) + String.format(Locale.ROOT, " %.0f%%", 100 * e.getValue()))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private static void index(StringBuilder html, List<Entry> entries) {
        html.append("<h2>Events</h2>\n<nav class=\"index\"><table class=\"index\"><tr><th>event</th><th>event time</th><th>response</th>"
                + "<th>max |delta|</th></tr>\n");
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            String response = entry.source().response();
            html.append(String.format(Locale.ROOT, "<tr><td><a href=\"#%s\">%s</a></td><td>%s</td><td>%s</td><td class=\"num\">%.4f</td></tr>%n", anchor(i),
                    escape(entry.title()), entry.details() == null ? "" : escape(entry.details().eventTime().toString()),
                    escape(Shortened.fit(response, 60)), entry.attribution().maxAbsDelta()));
        }
        html.append("</table></nav>\n");
    }

    private static void row(StringBuilder html, String name, String value) {
        html.append("<tr><th>").append(escape(name)).append("</th><td>").append(escape(value)).append("</td></tr>\n");
    }

    private static void details(StringBuilder html, Details details) {
        html.append("<table class=\"details\">\n");
        row(html, "event time", details.eventTime().toString());
        row(html, "explained at", String.format(Locale.ROOT, "%s (batch of %d, %.0f ms in the engine)", details.processingTime(), details.batchSize(),
                details.attributionMs()));
        row(html, "answered by", details.sourceModel());
        new TreeMap<>(details.metadata()).forEach((key, value) -> row(html, "metadata " + key, value));
        for (String note : details.notes()) {
            row(html, "note", note);
        }
        html.append("</table>\n");
    }

    private static void section(StringBuilder html, Entry entry, String anchor, Aggregate aggregate, double deltaWarnAbove) {
        Attribution attribution = entry.attribution();
        html.append("<section class=\"explanation\"").append(anchor == null ? "" : " id=\"" + anchor + "\"").append(">\n<h2>")
                .append(escape(entry.title())).append("</h2>\n");
        // Only what applies to the method, and the delta relative to the change it should account for, flagged over the threshold.
        RunFacts.Delta delta = RunFacts.delta(attribution, deltaWarnAbove);
        html.append("<p class=\"meta\">model ").append(escape(entry.source().model())).append(" · ").append(escape(RunFacts.method(attribution)))
                .append(delta == null ? "" : " · " + delta.html()).append("</p>\n");
        if (entry.details() != null) {
            details(html, entry.details());
        }
        if (aggregate == Aggregate.SEGMENTS) {
            shares(html, entry.summary());
        }
        html.append("<div class=\"prompt\">");
        if (aggregate == Aggregate.WORDS) {
            words(html, entry.summary());
        } else {
            tokens(html, attribution, entry.summary());
        }
        html.append("</div>\n<p class=\"response\">→ ").append(escape(entry.source().response())).append("</p>\n");
        if (attribution.tokenAttr() != null) {
            matrix(html, attribution);
        }
        html.append("</section>\n");
    }

    /** The segments as one bar, each as wide as its share of the attribution mass. */
    private static void shares(StringBuilder html, Summary summary) {
        html.append("<div class=\"shares\" title=\"share of attribution mass (sum of |score|) per segment\">");
        for (int s = 0; s < summary.segments().size(); s++) {
            Summary.Segment segment = summary.segments().get(s);
            if (segment.share() <= 0) {
                continue;
            }
            html.append(String.format(Locale.ROOT, "<div style=\"width:%.2f%%;background:%s\" title=\"%s (%s, %d tokens): share %.1f%%, score %+.6f\">%s %.0f%%</div>",
                    100 * segment.share(), SEGMENT_COLORS[s % SEGMENT_COLORS.length], escape(segment.name()), segment.kind().jsonName(), segment.tokens(),
                    100 * segment.share(), segment.score(), escape(segment.name()), 100 * segment.share()));
        }
        html.append("</div>\n");
        html.append(String.format(Locale.ROOT, "<p class=\"meta\">top segment %s · attribution entropy %.3f nats</p>%n",
                escape(String.valueOf(summary.topSegment())), summary.attributionEntropy()));
    }

    private static void words(StringBuilder html, Summary summary) {
        double[] scores = summary.words().stream().mapToDouble(Summary.Word::score).toArray();
        double extent = DivergingScale.extent(scores);
        for (int w = 0; w < scores.length; w++) {
            Summary.Word word = summary.words().get(w);
            String tooltip = String.format(Locale.ROOT, "word #%d (tokens %d–%d): raw %+.6f, normalized %+.4f", w, word.tokenStart(), word.tokenEnd() - 1,
                    word.score(), word.scoreNormalized());
            html.append(w == 0 ? "" : " ").append(span("", TokenText.display(word.text()), word.score(), extent, tooltip));
        }
    }

    private static void tokens(StringBuilder html, Attribution attribution, Summary summary) {
        double extent = DivergingScale.extent(attribution.seqAttr());
        List<AttributionToken> tokens = attribution.promptTokens();
        List<TokenGroups.Piece> pieces = new java.util.ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            AttributionToken t = tokens.get(i);
            pieces.add(new TokenGroups.Piece(t.text(), t.start(), t.end(), summary != null && i < summary.tokenSegment().length ? summary.tokenSegment()[i]
                    : TokenGroups.NO_SEGMENT));
        }
        for (TokenGroups.Group group : TokenGroups.of(pieces)) {
            prompt(html, attribution, summary, group, extent);
        }
    }

    private static void matrix(StringBuilder html, Attribution attribution) {
        List<Token> response = attribution.responseTokens();
        html.append("<table class=\"matrix\"><thead><tr><th>prompt ↓ / response →</th>");
        for (Token token : response) {
            html.append("<th>").append(escape(TokenText.display(token.piece()))).append("</th>");
        }
        html.append("</tr></thead><tbody>\n");
        for (int i = 0; i < attribution.promptTokens().size(); i++) {
            AttributionToken token = attribution.promptTokens().get(i);
            html.append("<tr><th>").append(escape(TokenText.display(token.text()))).append("</th>");
            for (int t = 0; t < response.size(); t++) {
                if (!token.attributed()) {
                    html.append("<td title=\"not attributed\">–</td>");
                    continue;
                }
                double raw = attribution.tokenAttr()[t][i];
                double normalized = attribution.tokenAttrNormalized()[t][i];
                int[] rgb = DivergingScale.rgb(raw, DivergingScale.extent(attribution.tokenAttr()[t]));
                html.append(String.format(Locale.ROOT, "<td style=\"background:rgb(%d,%d,%d);color:%s\" title=\"%s → %s: raw %+.6f, normalized %+.4f\">%+.2f</td>",
                        rgb[0], rgb[1], rgb[2], DivergingScale.needsLightText(rgb) ? "#fff" : "#000",
                        escape(TokenText.display(token.text())), escape(TokenText.display(response.get(t).piece())), raw, normalized, normalized));
            }
            html.append("</tr>\n");
        }
        html.append("</tbody></table>\n");
    }

    /** One unit of the prompt: a token, or the tokens of one character or one piece of markup, colored by their summed score. */
    private static void prompt(StringBuilder html, Attribution attribution, Summary summary, TokenGroups.Group group, double extent) {
        List<AttributionToken> tokens = attribution.promptTokens();
        double score = 0;
        boolean attributed = false;
        List<String> lines = new ArrayList<>();
        for (int i = group.first(); i <= group.last(); i++) {
            AttributionToken token = tokens.get(i);
            attributed |= token.attributed();
            score += token.attributed() ? attribution.seqAttr()[i] : 0;
            lines.add(token.attributed()
                    ? String.format(Locale.ROOT, "#%d id %d: raw %+.6f, normalized %+.4f", i, token.id(), attribution.seqAttr()[i], attribution.seqAttrNormalized()[i])
                    : String.format(Locale.ROOT, "#%d id %d: not attributed", i, token.id()));
        }
        if (group.size() > 1) {
            double normalized = 0;
            for (int i = group.first(); i <= group.last(); i++) {
                normalized += tokens.get(i).attributed() ? attribution.seqAttrNormalized()[i] : 0;
            }
            lines.add(0, String.format(Locale.ROOT, "#%d–%d (%d tokens %s): raw %+.6f, normalized %+.4f", group.first(), group.last(), group.size(),
                    TokenText.display(tokenPieces(tokens, group)), score, normalized));
        }
        int first = group.first();
        if (summary != null && first < summary.tokenSegment().length && summary.tokenSegment()[first] < summary.segments().size()) {
            lines.add("segment " + summary.segments().get(summary.tokenSegment()[first]).name());
        }
        String text = switch (group.kind()) {
            case LINE_BREAK -> "↵".repeat(group.text().length());
            case BOUNDARY -> TokenText.display(group.text());
            default -> group.text();
        };
        String classes = (attributed ? "" : " off") + (group.size() > 1 ? " group" : "") + (group.kind() == TokenGroups.Kind.LINE_BREAK ? " nl" : "");
        html.append(span(classes, text, score, extent, String.join("\n", lines)));
        if (group.kind() == TokenGroups.Kind.LINE_BREAK) {
            html.append("<br>".repeat(group.text().length()));
        }
    }

    private static String tokenPieces(List<AttributionToken> tokens, TokenGroups.Group group) {
        StringBuilder pieces = new StringBuilder();
        for (int i = group.first(); i <= group.last(); i++) {
            pieces.append(tokens.get(i).text());
        }
        return pieces.toString();
    }

    private static String span(String classes, String text, double score, double extent, String tooltip) {
        int[] rgb = DivergingScale.rgb(score, extent);
        return String.format(Locale.ROOT, "<span class=\"tok%s\" style=\"background:rgb(%d,%d,%d);color:%s\" title=\"%s\">%s</span>",
                classes, rgb[0], rgb[1], rgb[2], DivergingScale.needsLightText(rgb) ? "#fff" : "#000", escape(tooltip), escape(text));
    }

    /** {@code text} for HTML text or a quoted attribute, with the characters that reorder a line spelled out. */
    public static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            switch (c) {
                case '<':
                    out.append("&lt;");
                    break;
                case '>':
                    out.append("&gt;");
                    break;
                case '&':
                    out.append("&amp;");
                    break;
                case '"':
                    out.append("&quot;");
                    break;
                case '\'':
                    out.append("&#39;");
                    break;
                default:
                    // A bidirectional override in an event id or a segment's name would reorder the
                    // rest of its line (its share "23%" read "%32"): spelled out, as on the terminal.
                    if (TokenText.actsOnLayout(c)) {
                        out.append(TokenText.spelled(c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.toString();
    }
}
