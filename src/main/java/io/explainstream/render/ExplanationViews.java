package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.GradientMethod;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.Baseline;
import io.explainstream.attribution.QuadratureRule;
import io.explainstream.attribution.ScoreNormalization;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.attribution.summary.SegmentKind;
import io.explainstream.attribution.summary.Summary;
import io.explainstream.schema.Explanation;
import io.explainstream.tokenize.Token;
import java.util.List;

/** Reads an Avro {@link Explanation} back into the engine's {@link Attribution}, so the same renderers serve both. */
public final class ExplanationViews {

    private static final String REDACTED = "▒";

    private ExplanationViews() {}

    public static Attribution toAttribution(Explanation record) {
        List<AttributionToken> prompt = record.getPromptTokens().stream()
                .map(t -> new AttributionToken(t.getId(), t.getText() == null ? REDACTED : t.getText(), t.getStart(), t.getEnd(), t.getAttributed()))
                .toList();
        List<Token> response = record.getResponseTokens().stream()
                .map(t -> new Token(t.getId(), t.getText() == null ? REDACTED : t.getText(), t.getStart(), t.getEnd()))
                .toList();
        AttributionSettings settings = AttributionSettings.DEFAULTS
                .withMethod(GradientMethod.valueOf(record.getMethod().name()))
                .withIntegration(QuadratureRule.valueOf(record.getIntegration().name()))
                .withSteps(Math.max(1, record.getSteps()))
                .withBaseline(Baseline.parse("baseline", record.getBaseline()))
                .withIncludeBos(record.getIncludeBos())
                .withTokenMatrix(record.getTokenAttr() != null)
                .withNormalization(ScoreNormalization.valueOf(record.getNormalization().name()));
        return new Attribution(prompt, response, array(record.getSeqAttr()), array(record.getSeqAttrNormalized()), matrix(record.getTokenAttr()),
                matrix(record.getTokenAttrNormalized()), array(record.getResponseLogprobs()), array(record.getBaselineLogprobs()),
                array(record.getConvergenceDelta()), record.getSequenceDelta(), record.getSteps(),
                record.getTargetSteps().stream().mapToInt(Integer::intValue).toArray(), settings);
    }

    /**
     * The record's segments, words and top lists as a {@link Summary}; a record written with the v1
     * schema has none, and reads as one with no segments.
     */
    public static Summary summary(Explanation record) {
        List<Summary.Segment> segments = record.getSegments().stream()
                .map(s -> new Summary.Segment(s.getName(), kind(s.getKind()), s.getStart(), s.getEnd(), s.getTokens(), s.getScore(), s.getShare(),
                        s.getTokenScores() == null ? null : array(s.getTokenScores())))
                .toList();
        int[] tokenSegment = record.getPromptTokens().stream().mapToInt(t -> t.getSegment()).toArray();
        List<Summary.Word> words = record.getWords().stream()
                .map(w -> new Summary.Word(w.getText() == null ? REDACTED : w.getText(), w.getStart(), w.getEnd(), w.getTokenStart(), w.getTokenEnd(),
                        w.getScore(), w.getScoreNormalized()))
                .toList();
        return new Summary(segments, tokenSegment, words, top(record.getTopTokens()), top(record.getTopWords()), record.getTopSegment(),
                record.getAttributionEntropy());
    }

    /** The segments by share, largest first, as "user[0] 62% · system 30% · template 8%"; empty without segments. */
    public static String segmentShares(Summary summary, int most) {
        return summary.segments().stream()
                .filter(s -> s.tokens() > 0)
                .sorted((a, b) -> Double.compare(b.share(), a.share()))
                .limit(most)
                .map(s -> String.format(java.util.Locale.ROOT, "%s %.0f%%", TokenText.name(s.name()), 100 * s.share()))
                .collect(java.util.stream.Collectors.joining(" · "));
    }

    private static SegmentKind kind(io.explainstream.schema.SegmentKind kind) {
        // OTHER stands for kinds a newer writer added; SPAN is the nearest: a part someone named.
        return kind == io.explainstream.schema.SegmentKind.OTHER ? SegmentKind.SPAN : SegmentKind.valueOf(kind.name());
    }

    private static List<Summary.Top> top(List<io.explainstream.schema.TopItem> items) {
        return items.stream().map(t -> new Summary.Top(t.getIndex(), t.getText() == null ? REDACTED : t.getText(), t.getStart(), t.getEnd(),
                t.getScore())).toList();
    }

    /**
     * The header facts of a record. The record carries no raw text: it is rebuilt from the token
     * pieces and offsets ({@link TokenGroups}), byte pieces decoded, so an emoji reads as one.
     */
    public static Source source(Explanation record) {
        return new Source(record.getModelId(), record.getModelFingerprint(),
                TokenGroups.text(record.getPromptTokens().stream().map(t -> new TokenGroups.Piece(t.getText(), t.getStart(), t.getEnd())).toList()),
                TokenGroups.text(record.getResponseTokens().stream().map(t -> new TokenGroups.Piece(t.getText(), t.getStart(), t.getEnd())).toList()));
    }

    private static double[] array(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double[][] matrix(List<List<Double>> rows) {
        return rows == null ? null : rows.stream().map(ExplanationViews::array).toArray(double[][]::new);
    }
}
