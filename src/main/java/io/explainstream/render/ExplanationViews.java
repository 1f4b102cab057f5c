package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionMethod;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.Baseline;
import io.explainstream.attribution.IntegrationRule;
import io.explainstream.attribution.Normalization;
import io.explainstream.attribution.PromptToken;
import io.explainstream.schema.Explanation;
import io.explainstream.tokenize.Token;
import java.util.List;

/** Reads an Avro {@link Explanation} back into the engine's {@link Attribution}, so the same renderers serve both. */
public final class ExplanationViews {

    private static final String REDACTED = "▒";

    private ExplanationViews() {}

    public static Attribution toAttribution(Explanation record) {
        List<PromptToken> prompt = record.getPromptTokens().stream()
                .map(t -> new PromptToken(t.getId(), t.getText() == null ? REDACTED : t.getText(), t.getStart(), t.getEnd(), t.getAttributed()))
                .toList();
        List<Token> response = record.getResponseTokens().stream()
                .map(t -> new Token(t.getId(), t.getText() == null ? REDACTED : t.getText(), t.getStart(), t.getEnd()))
                .toList();
        AttributionSettings settings = AttributionSettings.DEFAULTS
                .withMethod(AttributionMethod.valueOf(record.getMethod().name()))
                .withIntegration(IntegrationRule.valueOf(record.getIntegration().name()))
                .withSteps(Math.max(1, record.getSteps()))
                .withBaseline(Baseline.parse("baseline", record.getBaseline()))
                .withIncludeBos(record.getIncludeBos())
                .withTokenMatrix(record.getTokenAttr() != null)
                .withNormalization(Normalization.valueOf(record.getNormalization().name()));
        return new Attribution(prompt, response, array(record.getSeqAttr()), array(record.getSeqAttrNormalized()), matrix(record.getTokenAttr()),
                matrix(record.getTokenAttrNormalized()), array(record.getResponseLogprobs()), array(record.getBaselineLogprobs()),
                array(record.getConvergenceDelta()), record.getSequenceDelta(), record.getSteps(), settings);
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
