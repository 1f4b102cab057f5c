package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.CompletenessGap;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.attribution.summary.Summary;
import io.explainstream.text.Columns;
import io.explainstream.tokenize.Token;
import java.util.List;
import java.util.Locale;

/**
 * An explanation for a terminal: the prompt with each token's background colored by its score
 * (24-bit ANSI colors), then a table of every prompt token with raw and normalized score and a
 * bar, and the token matrix when present. Without color, the table and bars carry everything:
 * signs are printed, bars use {@code +} and {@code -}.
 */
public final class TerminalHeatmap {

    private static final String RESET = "\u001b[0m";
    private static final int BAR_WIDTH = 20;
    /** The terminal columns of a table's token or word column at least, and at most (a longer name is cut with an ellipsis). */
    private static final int NAME_COLUMNS = 16;
    private static final int MAX_NAME_COLUMNS = 40;

    private static final String WARNING_STYLE = "\u001b[1;31m"; // bold red

    private final boolean color;
    private final double deltaWarnAbove;

    public TerminalHeatmap(boolean color) {
        this(color, CompletenessGap.DEFAULT_WARN_ABOVE);
    }

    /** With {@code deltaWarnAbove}, the relative delta over which the delta is flagged. */
    public TerminalHeatmap(boolean color, double deltaWarnAbove) {
        this.color = color;
        this.deltaWarnAbove = deltaWarnAbove;
    }

    /** Color unless NO_COLOR is set or output is not a terminal (https://no-color.org). */
    public static boolean colorByDefault() {
        return System.getenv("NO_COLOR") == null && System.console() != null;
    }

    public String render(Attribution attribution, Source source) {
        return render(attribution, null, source, Aggregate.TOKENS);
    }

    /**
     * With {@code aggregate} words, the heatmap and table show words; with segments, a table of
     * segment shares comes first, then the tokens. A null {@code summary} shows tokens.
     */
    public String render(Attribution attribution, Summary summary, Source source, Aggregate aggregate) {
        if (summary == null || aggregate == Aggregate.TOKENS) {
            return renderTokens(attribution, source);
        }
        StringBuilder out = new StringBuilder();
        out.append("response: ").append(quote(source.response())).append('\n');
        out.append(RunFacts.method(attribution)).append(" · normalized ").append(attribution.settings().normalization().optionName())
                .append(deltaSummary(attribution)).append('\n');
        if (aggregate == Aggregate.SEGMENTS) {
            out.append('\n').append(segmentTable(summary));
            out.append(String.format(Locale.ROOT, "  top segment: %s · attribution entropy %.3f nats%n", TokenText.visible(String.valueOf(summary.topSegment())), summary.attributionEntropy()));
            if (color) {
                out.append('\n').append(coloredPrompt(attribution.promptTokens(), attribution.seqAttr())).append("\n");
            }
            out.append('\n').append(table(attribution));
            return out.toString();
        }
        double[] scores = summary.words().stream().mapToDouble(Summary.Word::score).toArray();
        if (color) {
            double extent = DivergingScale.extent(scores);
            StringBuilder line = new StringBuilder("  ");
            for (int w = 0; w < scores.length; w++) {
                line.append(w == 0 ? "" : " ").append(cell(TokenText.display(summary.words().get(w).text()), scores[w], extent));
            }
            out.append('\n').append(line).append('\n');
        }
        int columns = nameColumns(summary.words().stream().map(Summary.Word::text).toList());
        out.append('\n').append(String.format(Locale.ROOT, "  %4s  %s %10s %10s  %s%n", "#", Columns.padEnd("word", columns), "raw", "normalized", "share"));
        double extent = DivergingScale.extent(scores);
        for (int w = 0; w < scores.length; w++) {
            Summary.Word word = summary.words().get(w);
            String name = nameCell(word.text(), columns);
            if (attribution.promptTokens().subList(word.tokenStart(), word.tokenEnd()).stream().noneMatch(AttributionToken::attributed)) {
                // BOS: the same words as the token table, not a score of 0 the method never gave.
                out.append(String.format(Locale.ROOT, "  %4d  %s %10s %10s  (not attributed)%n", w, name, "-", "-"));
                continue;
            }
            out.append(String.format(Locale.ROOT, "  %4d  %s %+10.4f %+10.4f  %s%n", w, name, word.score(), word.scoreNormalized(),
                    bar(word.score(), extent)));
        }
        return out.toString();
    }

    /** One row per segment: its kind, tokens, signed score and share of the attribution mass, with a bar. */
    private String segmentTable(Summary summary) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "  %-20s %-9s %6s %10s %7s  %s%n", "segment", "kind", "tokens", "score", "share", ""));
        for (Summary.Segment segment : summary.segments()) {
            int length = (int) Math.round(BAR_WIDTH * segment.share());
            String bar = "█".repeat(length);
            if (color) {
                int[] rgb = DivergingScale.rgb(segment.score(), Math.abs(segment.score()));
                bar = String.format("\u001b[38;2;%d;%d;%dm%s%s", rgb[0], rgb[1], rgb[2], bar, RESET);
            }
            out.append(String.format(Locale.ROOT, "  %s %-9s %6d %+10.4f %6.1f%%  %s%n", Columns.padEnd(Columns.fit(TokenText.name(segment.name()), 20), 20), segment.kind().jsonName(),
                    segment.tokens(), segment.score(), 100 * segment.share(), bar));
        }
        return out.toString();
    }

    private String renderTokens(Attribution attribution, Source source) {
        StringBuilder out = new StringBuilder();
        out.append("response: ").append(quote(source.response())).append('\n');
        out.append(RunFacts.method(attribution)).append(" · normalized ").append(attribution.settings().normalization().optionName())
                .append(deltaSummary(attribution)).append('\n');
        if (color) {
            out.append('\n').append(coloredPrompt(attribution.promptTokens(), attribution.seqAttr())).append("\n");
        }
        out.append('\n').append(table(attribution));
        if (attribution.tokenAttr() != null) {
            out.append('\n').append(matrix(attribution));
        }
        return out.toString();
    }

    /**
     * One explanation in two lines, for a live view: the colored prompt (or, without color, the
     * three strongest tokens with signs), then the strongest tokens, the delta and {@code extra}.
     */
    public String compact(String title, Attribution attribution, Source source, String extra) {
        StringBuilder out = new StringBuilder(TokenText.visible(title)).append("  → ").append(quote(Columns.fit(source.response(), 60))).append('\n');
        if (color) {
            out.append(coloredPrompt(attribution.promptTokens(), attribution.seqAttr())).append('\n');
        }
        out.append("  top: ").append(topTokens(attribution, 3)).append(deltaSummary(attribution)).append(extra.isEmpty() ? "" : " · " + extra).append('\n');
        return out.toString();
    }

    private static String topTokens(Attribution attribution, int count) {
        double[] normalized = attribution.seqAttrNormalized();
        return java.util.stream.IntStream.range(0, normalized.length)
                .filter(i -> attribution.promptTokens().get(i).attributed())
                .boxed()
                .sorted((a, b) -> Double.compare(Math.abs(normalized[b]), Math.abs(normalized[a])))
                .limit(count)
                .map(i -> String.format(Locale.ROOT, "%s %+.2f", quote(TokenText.display(attribution.promptTokens().get(i).text())), normalized[i]))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private String deltaSummary(Attribution attribution) {
        RunFacts.Delta delta = RunFacts.delta(attribution, deltaWarnAbove);
        if (delta == null) {
            return "";
        }
        if (!delta.warning()) {
            return " · " + delta.text();
        }
        String flagged = delta.text() + " · " + delta.warningText();
        return " · " + (color ? WARNING_STYLE + flagged + RESET : flagged);
    }

    private String coloredPrompt(List<AttributionToken> tokens, double[] scores) {
        double extent = DivergingScale.extent(scores);
        StringBuilder out = new StringBuilder("  ");
        // Byte pieces of one character and the chat template's markup are one cell, colored by
        // their summed score (scores add up over tokens).
        for (TokenGroups.Group group : TokenGroups.of(tokens.stream().map(t -> new TokenGroups.Piece(t.text(), t.start(), t.end())).toList())) {
            double score = 0;
            for (int i = group.first(); i <= group.last(); i++) {
                score += tokens.get(i).attributed() ? scores[i] : 0;
            }
            out.append(cell(TokenText.display(group.text()), score, extent));
        }
        return out.toString();
    }

    private String table(Attribution attribution) {
        int columns = nameColumns(attribution.promptTokens().stream().map(AttributionToken::text).toList());
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "  %4s  %s %10s %10s  %s%n", "#", Columns.padEnd("prompt token", columns), "raw", "normalized", "share"));
        double extent = DivergingScale.extent(attribution.seqAttr());
        for (int i = 0; i < attribution.promptTokens().size(); i++) {
            AttributionToken token = attribution.promptTokens().get(i);
            double raw = attribution.seqAttr()[i];
            String name = nameCell(token.text(), columns);
            if (!token.attributed()) {
                out.append(String.format(Locale.ROOT, "  %4d  %s %10s %10s  (not attributed)%n", i, name, "-", "-"));
                continue;
            }
            out.append(String.format(Locale.ROOT, "  %4d  %s %+10.4f %+10.4f  %s%n", i, name, raw, attribution.seqAttrNormalized()[i], bar(raw, extent)));
        }
        return out.toString();
    }

    private String bar(double score, double extent) {
        int length = extent == 0 ? 0 : (int) Math.round(BAR_WIDTH * Math.abs(score) / extent);
        if (color) {
            int[] rgb = DivergingScale.rgb(score, extent);
            return String.format("\u001b[38;2;%d;%d;%dm%s%s", rgb[0], rgb[1], rgb[2], "█".repeat(length), RESET);
        }
        return (score >= 0 ? "+" : "-").repeat(length);
    }

    private String matrix(Attribution attribution) {
        List<Token> response = attribution.responseTokens();
        StringBuilder out = new StringBuilder("  token matrix (normalized per response token; rows: prompt tokens, columns: response tokens)\n");
        int columns = nameColumns(attribution.promptTokens().stream().map(AttributionToken::text).toList());
        out.append("  ").append(" ".repeat(columns));
        for (Token token : response) {
            out.append(' ').append(Columns.padStart(Columns.fit(TokenText.display(token.piece()), 7), 7));
        }
        out.append('\n');
        double[][] normalized = attribution.tokenAttrNormalized();
        for (int i = 0; i < attribution.promptTokens().size(); i++) {
            AttributionToken token = attribution.promptTokens().get(i);
            out.append("  ").append(nameCell(token.text(), columns));
            for (int t = 0; t < response.size(); t++) {
                double[] row = normalized[t];
                String value = token.attributed() ? String.format(Locale.ROOT, "%+7.3f", row[i]) : "      -";
                out.append(' ').append(cell(value, row[i], DivergingScale.extent(row)));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private String cell(String text, double score, double extent) {
        if (!color) {
            return text;
        }
        int[] rgb = DivergingScale.rgb(score, extent);
        String foreground = DivergingScale.needsLightText(rgb) ? "\u001b[38;2;255;255;255m" : "\u001b[38;2;0;0;0m";
        return String.format("\u001b[48;2;%d;%d;%dm%s%s%s", rgb[0], rgb[1], rgb[2], foreground, text, RESET);
    }

    /** Text from the traffic in quotes, with what would act on the terminal escaped ({@link TokenText#visible}). */
    /** The name column's width for these pieces: the widest quoted one, within [NAME_COLUMNS, MAX_NAME_COLUMNS], so that the column lines up. */
    private static int nameColumns(List<String> pieces) {
        int widest = pieces.stream().mapToInt(piece -> Columns.width(quote(TokenText.display(piece)))).max().orElse(0);
        return Math.max(NAME_COLUMNS, Math.min(MAX_NAME_COLUMNS, widest));
    }

    /** A piece quoted in a cell of {@code columns}: cut with an ellipsis inside the quotes where it is wider, padded where narrower. */
    private static String nameCell(String piece, int columns) {
        return Columns.padEnd("'" + Columns.fit(TokenText.display(piece), columns - 2) + "'", columns);
    }

    private static String quote(String text) {
        return "'" + TokenText.visible(text) + "'";
    }
}
