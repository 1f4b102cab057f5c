package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.PromptToken;
import io.explainstream.tokenize.Token;
import java.util.List;
import java.util.Locale;

/**
 * One self-contained HTML page (no scripts, no external files) of one or more explanations: the
 * prompt with tokens colored by score on a diverging scale symmetric around 0, the token matrix
 * as a table heatmap, and every value in a tooltip.
 */
public final class HtmlReport {

    /** One explanation and what it explains. */
    public record Entry(String title, Attribution attribution, Source source) {}

    private static final String STYLE = String.join("\n",
            "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}",
            "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em;border-top:1px solid #ddd;padding-top:1em}",
            ".meta{color:#555;font-size:.9em}.prompt{line-height:2.2;font-family:ui-monospace,Menlo,Consolas,monospace}",
            ".tok{padding:2px 1px;border-radius:3px;white-space:pre}.tok.off{color:#999;border:1px dashed #bbb}",
            ".response{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f6f6f6;padding:.5em;border-radius:4px}",
            "table.matrix{border-collapse:collapse;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8em;margin-top:1em}",
            "table.matrix th,table.matrix td{border:1px solid #eee;padding:3px 5px;text-align:right;white-space:pre}",
            "table.matrix th{background:#fafafa;font-weight:normal}",
            ".legend{display:inline-block;width:240px;height:12px;background:linear-gradient(to right,rgb(31,119,180),#fff,rgb(214,39,40));"
                    + "vertical-align:middle;border:1px solid #ccc;margin:0 .5em}");

    private HtmlReport() {}

    public static String render(String pageTitle, List<Entry> entries) {
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        html.append("<title>").append(escape(pageTitle)).append("</title>\n<style>\n").append(STYLE).append("\n</style></head>\n<body>\n");
        html.append("<h1>").append(escape(pageTitle)).append("</h1>\n");
        html.append("<p class=\"meta\">negative<span class=\"legend\"></span>positive — a token's color is its score relative to the "
                + "largest |score| of its row; hover for raw and normalized values.</p>\n");
        for (Entry entry : entries) {
            section(html, entry);
        }
        return html.append("</body></html>\n").toString();
    }

    private static void section(StringBuilder html, Entry entry) {
        Attribution attribution = entry.attribution();
        AttributionSettings settings = attribution.settings();
        html.append("<section class=\"explanation\">\n<h2>").append(escape(entry.title())).append("</h2>\n");
        html.append(String.format(Locale.ROOT, "<p class=\"meta\">model %s · %s · %s · %d steps · baseline %s · BOS %s%s</p>%n",
                escape(entry.source().model()), settings.method().optionName(), settings.integration().optionName(), attribution.steps(),
                escape(settings.baseline().optionName()), settings.includeBos() ? "attributed" : "skipped",
                attribution.baselineLogProbs().length == 0 ? ""
                        : attribution.convergenceDelta().length == 0 ? String.format(Locale.ROOT, " · sequence delta %+.4f", attribution.sequenceDelta())
                        : String.format(Locale.ROOT, " · max |delta| %.4f", attribution.maxAbsDelta())));
        html.append("<div class=\"prompt\">");
        double extent = DivergingScale.extent(attribution.seqAttr());
        List<PromptToken> tokens = attribution.promptTokens();
        for (int i = 0; i < tokens.size(); i++) {
            PromptToken token = tokens.get(i);
            String tooltip = token.attributed()
                    ? String.format(Locale.ROOT, "#%d id %d: raw %+.6f, normalized %+.4f", i, token.id(), attribution.seqAttr()[i], attribution.seqAttrNormalized()[i])
                    : String.format(Locale.ROOT, "#%d id %d: not attributed", i, token.id());
            html.append(span(TokenText.display(token.text()), token.attributed() ? attribution.seqAttr()[i] : 0, extent, tooltip, !token.attributed()));
        }
        html.append("</div>\n<p class=\"response\">→ ").append(escape(entry.source().response())).append("</p>\n");
        if (attribution.tokenAttr() != null) {
            matrix(html, attribution);
        }
        html.append("</section>\n");
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
