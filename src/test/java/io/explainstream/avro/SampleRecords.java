package io.explainstream.avro;

import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.ChatMessage;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationFlags;
import io.explainstream.schema.IntegrationRule;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.Normalization;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.ResponseToken;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Small valid records of both schemas. */
final class SampleRecords {

    private SampleRecords() {}

    static LlmInteraction interaction(String id) {
        return LlmInteraction.newBuilder()
                .setEventId(id)
                .setTimestamp(Instant.ofEpochMilli(1_764_000_000_000L))
                .setModel("stories260K")
                .setMessages(List.of(new ChatMessage("user", "Tell a story.")))
                .setResponse("Once upon a time")
                .setMetadata(Map.of("tenant", "acme"))
                .build();
    }

    static Explanation explanation(String id) {
        return Explanation.newBuilder()
                .setEventId(id)
                .setEventTime(Instant.ofEpochMilli(1_764_000_000_000L))
                .setProcessingTime(Instant.ofEpochMilli(1_764_000_001_000L))
                .setSourceModel("stories260K")
                .setModelId("models/stories260K")
                .setModelFingerprint("sha256:00")
                .setMethod(AttributionMethod.INTEGRATED_GRADIENTS)
                .setIntegration(IntegrationRule.GAUSSLEGENDRE)
                .setSteps(50)
                .setBaseline("unk")
                .setIncludeBos(false)
                .setNormalization(Normalization.L1)
                .setPromptTokens(List.of(new PromptToken(1L, "<s>", 0, 0, false, 0), new PromptToken(403L, "▁Once", 0, 4, true, 0)))
                .setResponseTokens(List.of(new ResponseToken(407L, "▁upon", 0, 5)))
                .setSeqAttr(List.of(0.0, 1.5))
                .setSeqAttrNormalized(List.of(0.0, 1.0))
                .setResponseLogprobs(List.of(-0.1))
                .setBaselineLogprobs(List.of(-1.6))
                .setConvergenceDelta(List.of(0.0))
                .setSequenceDelta(0.0)
                .setMaxAbsDelta(0.0)
                .setFlags(new ExplanationFlags(false, 0, false, 0, false))
                .setBatchSize(1)
                .setAttributionLatencyMs(12.5)
                .build();
    }
}
