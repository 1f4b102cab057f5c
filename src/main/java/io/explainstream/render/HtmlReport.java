package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.PromptToken;
import io.explainstream.attribution.summary.Summary;
import io.explainstream.tokenize.Token;
import java.util.List;
import java.util.Locale;

/**
 * One self-contained HTML page (no scripts, no external files) of one or more explanations: the
 * prompt with tokens colored by score on a diverging scale symmetric around 0, the token matrix
 * as a table heatmap, and every value in a tooltip.
 */
public final class HtmlReport {

    /**
     * One explanation and what it explains.
     *
     * @param summary its segments and words; null when it has none (the page then shows tokens)
     */
    public record Entry(String title, Attribution attribution, Summary summary, Source source) {

        public Entry(String title, Attribution attribution, Source source) {
            this(title, attribution, null, source);
        }
    }

    /** Segment colors of the share bar, in turn (Tableau 10, light). */
    private static final String[] SEGMENT_COLORS = {"#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
        "#c7c7c7"};

    private static final String STYLE = String.join("\n",
            "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}",
            "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em;border-top:1px solid #ddd;padding-top:1em}",
            ".meta{color:#555;font-size:.9em}.prompt{line-height:2.2;font-family:ui-monospace,Menlo,Consolas,monospace}",
            ".tok{padding:2px 1px;border-radius:3px;white-space:pre}.tok.off{color:#999;border:1px dashed #bbb}",
            ".response{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f6f6f6;padding:.5em;border-radius:4px}",
            "table.matrix{border-collapse:collapse;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8em;margin-top:1em}",
            "table.matrix th,table.matrix td{border:1px solid #eee;padding:3px 5px;text-align:right;white-space:pre}",
            "table.matrix th{background:#fafafa;font-weight:normal}",
            ".shares{display:flex;height:1.6em;border:1px solid #ccc;border-radius:4px;overflow:hidden;font-size:.8em;margin:.5em 0}",
            ".shares div{overflow:hidden;white-space:nowrap;padding:2px 4px;box-sizing:border-box;border-right:1px solid #fff}",
            ".legend{display:inline-block;width:240px;height:12px;background:linear-gradient(to right,rgb(31,119,180),#fff,rgb(214,39,40));"
                    + "vertical-align:middle;border:1px solid #ccc;margin:0 .5em}");

    private HtmlReport() {}

    public static String render(String pageTitle, List<Entry> entries) {
        return render(pageTitle, entries, Aggregate.TOKENS);
    }

    /** With {@code aggregate} words, the prompt shows words; with segments, a bar of shares above the tokens. */
    public static String render(String pageTitle, List<Entry> entries, Aggregate aggregate) {
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        html.append("<title>").append(escape(pageTitle)).append("</title>\n<style>\n").append(STYLE).append("\n</style></head>\n<body>\n");
        html.append("<h1>").append(escape(pageTitle)).append("</h1>\n");
        html.append("<p class=\"meta\">negative<span class=\"legend\"></span>positive — a token's color is its score relative to the "
                + "largest |score| of its row; hover for raw and normalized values.</p>\n");
        for (Entry entry : entries) {
            section(html, entry, entry.summary() == null ? Aggregate.TOKENS : aggregate);
        }
        return html.append("</body></html>\n").toString();
    }

    private static void section(StringBuilder html, Entry entry, Aggregate aggregate) {
        Attribution attribution = entry.attribution();
        AttributionSettings settings = attribution.settings();
        html.append("<section class=\"explanation\">\n<h2>").append(escape(entry.title())).append("</h2>\n");
        html.append(String.format(Locale.ROOT, "<p class=\"meta\">model %s · %s · %s · %d steps · baseline %s · BOS %s%s</p>%n",
                escape(entry.source().model()), settings.method().optionName(), settings.integration().optionName(), attribution.steps(),
                escape(settings.baseline().optionName()), settings.includeBos() ? "attributed" : "skipped",
                attribution.baselineLogProbs().length == 0 ? ""
                        : attribution.convergenceDelta().length == 0 ? String.format(Locale.ROOT, " · sequence delta %+.4f", attribution.sequenceDelta())
                        : String.format(Locale.ROOT, " · max |delta| %.4f", attribution.maxAbsDelta())));
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
            html.append(w == 0 ? "" : " ").append(span(TokenText.display(word.text()), word.score(), extent, tooltip, false));
        }
    }

    private static void tokens(StringBuilder html, Attribution attribution, Summary summary) {
        double extent = DivergingScale.extent(attribution.seqAttr());
        List<PromptToken> tokens = attribution.promptTokens();
        for (int i = 0; i < tokens.size(); i++) {
            PromptToken token = tokens.get(i);
            String tooltip = token.attributed()
                    ? String.format(Locale.ROOT, "#%d id %d: raw %+.6f, normalized %+.4f", i, token.id(), attribution.seqAttr()[i], attribution.seqAttrNormalized()[i])
                    : String.format(Locale.ROOT, "#%d id %d: not attributed", i, token.id());
            if (summary != null && i < summary.tokenSegment().length && summary.tokenSegment()[i] < summary.segments().size()) {
                tooltip += " · segment " + summary.segments().get(summary.tokenSegment()[i]).name();
            }
            html.append(span(TokenText.display(token.text()), token.attributed() ? attribution.seqAttr()[i] : 0, extent, tooltip, !token.attributed()));
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
            PromptToken token = attribution.promptTokens().get(i);
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

    private static String span(String text, double score, double extent, String tooltip, boolean off) {
        int[] rgb = DivergingScale.rgb(score, extent);
        return String.format(Locale.ROOT, "<span class=\"tok%s\" style=\"background:rgb(%d,%d,%d);color:%s\" title=\"%s\">%s</span>",
                off ? " off" : "", rgb[0], rgb[1], rgb[2], DivergingScale.needsLightText(rgb) ? "#fff" : "#000", escape(tooltip), escape(text));
    }

    static String escape(String text) {
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
                    out.append(c);
            }
        }
        return out.toString();
    }
}
