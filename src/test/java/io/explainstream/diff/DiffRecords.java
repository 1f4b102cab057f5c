package io.explainstream.diff;

import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationFlags;
import io.explainstream.schema.IntegrationRule;
import io.explainstream.schema.Normalization;
import io.explainstream.schema.PromptSegment;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.PromptWord;
import io.explainstream.schema.ResponseToken;
import io.explainstream.schema.SegmentKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Small hand-made explanations whose measures can be computed by hand; the scores are what the tests choose, not a model's. */
public final class DiffRecords {

    private DiffRecords() {}

    /** A token: vocabulary id, piece, character span, attributed, segment index. */
    public record Tok(long id, String text, int start, int end, boolean attributed, int segment) {}

    /** A segment's name and share. */
    public record Seg(String name, double share) {}

    /**
     * An explanation of {@code tokens} with these scores; its words are the tokens grouped by
     * {@code wordEnds} (one past each word's last token), their scores summed.
     */
    public static Explanation explanation(String eventId, List<Tok> tokens, double[] scores, int[] wordEnds, List<Seg> segments, String topSegment,
            double sequenceDelta, List<Double> responseLogprobs) {
        List<PromptToken> promptTokens = new ArrayList<>();
        List<Double> seqAttr = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            Tok t = tokens.get(i);
            promptTokens.add(new PromptToken(t.id(), t.text(), t.start(), t.end(), t.attributed(), t.segment()));
            seqAttr.add(scores[i]);
        }
        List<PromptWord> words = new ArrayList<>();
        int start = 0;
        for (int end : wordEnds) {
            double score = 0;
            StringBuilder text = new StringBuilder();
            for (int i = start; i < end; i++) {
                score += scores[i];
                text.append(tokens.get(i).text().replace("▁", ""));
            }
            words.add(new PromptWord(text.toString(), tokens.get(start).start(), tokens.get(end - 1).end(), start, end, score, score));
            start = end;
        }
        List<PromptSegment> promptSegments = segments.stream()
                .map(s -> new PromptSegment(s.name(), SegmentKind.SPAN, 0, 0, 0, 0.0, s.share(), null)).toList();
        return Explanation.newBuilder()
                .setEventId(eventId)
                .setEventTime(Instant.ofEpochMilli(1_764_000_000_000L))
                .setProcessingTime(Instant.ofEpochMilli(1_764_000_001_000L))
                .setSourceModel("stories260K")
                .setModelId("stories260K")
                .setModelFingerprint("sha256:00")
                .setMethod(AttributionMethod.INTEGRATED_GRADIENTS)
                .setIntegration(IntegrationRule.GAUSSLEGENDRE)
                .setSteps(8)
                .setBaseline("unk")
                .setIncludeBos(false)
                .setNormalization(Normalization.L1)
                .setPromptTokens(promptTokens)
                .setResponseTokens(List.of(new ResponseToken(407L, "▁upon", 0, 5)))
                .setSeqAttr(seqAttr)
                .setSeqAttrNormalized(seqAttr)
                .setResponseLogprobs(responseLogprobs)
                .setBaselineLogprobs(responseLogprobs.stream().map(v -> v - 1).toList())
                .setConvergenceDelta(responseLogprobs.stream().map(v -> 0.0).toList())
                .setSequenceDelta(sequenceDelta)
                .setMaxAbsDelta(Math.abs(sequenceDelta))
                .setFlags(new ExplanationFlags(false, 0, false, 0, false))
                .setBatchSize(1)
                .setAttributionLatencyMs(1.0)
                .setMetadata(Map.of("tenant", "acme"))
                .setSegments(promptSegments)
                .setWords(words)
                .setTopSegment(topSegment)
                .build();
    }
}
