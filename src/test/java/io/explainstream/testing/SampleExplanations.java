package io.explainstream.testing;

import io.explainstream.TestData;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationFlags;
import io.explainstream.schema.IntegrationRule;
import io.explainstream.schema.Normalization;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.ResponseToken;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Explanation records computed by the real engine on the bundled model, for tests of the readers
 * of the explanations topic (tail, the demo's report). The prompt holds an emoji that the tiny
 * vocabulary can only spell in byte pieces, and a newline.
 */
public final class SampleExplanations {

    public static final String PROMPT = "Lily saw a 🐶 and\nsmiled";
    public static final String RESPONSE = "She loved the dog";
    public static final AttributionSettings SETTINGS = AttributionSettings.DEFAULTS.withSteps(4);

    private SampleExplanations() {}

    /** The chat prompt of {@link #chat}: the template's markup is spelled piece by piece by the tiny vocabulary. */
    public static final List<ChatTurn> CHAT = List.of(new ChatTurn(ChatTurn.Role.SYSTEM, "Tell stories."),
            new ChatTurn(ChatTurn.Role.USER, "A dog story."));

    /** {@link #PROMPT} and {@link #RESPONSE}. */
    public static Explanation emoji(String eventId) {
        return explain(eventId, tokenizer -> tokenizer.encodePrompt(PROMPT));
    }

    /** {@code prompt} and {@link #RESPONSE}. */
    public static Explanation plain(String eventId, String prompt) {
        return explain(eventId, tokenizer -> tokenizer.encodePrompt(prompt));
    }

    /** {@link #CHAT} and {@link #RESPONSE}. */
    public static Explanation chat(String eventId) {
        return explain(eventId, tokenizer -> tokenizer.encodeChat(CHAT));
    }

    private static Explanation explain(String eventId, Function<LlamaTokenizer, EncodedText> prompt) {
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32);
                LlamaTokenizer tokenizer = LlamaTokenizer.load(TestData.stories260K())) {
            Attribution attribution = new AttributionEngine(model, tokenizer)
                    .attribute(new AttributionRequest(prompt.apply(tokenizer), tokenizer.encodeResponse(RESPONSE)), SETTINGS);
            return Explanation.newBuilder()
                    .setEventId(eventId)
                    .setEventTime(Instant.ofEpochMilli(1_764_460_800_000L))
                    .setProcessingTime(Instant.ofEpochMilli(1_764_460_801_250L))
                    .setSourceModel("stories260K")
                    .setModelId("stories260K")
                    .setModelFingerprint(model.checkpoint().fingerprint())
                    .setMethod(AttributionMethod.INTEGRATED_GRADIENTS)
                    .setIntegration(IntegrationRule.GAUSSLEGENDRE)
                    .setSteps(attribution.steps())
                    .setBaseline("unk")
                    .setIncludeBos(false)
                    .setNormalization(Normalization.L1)
                    .setPromptTokens(attribution.promptTokens().stream()
                            .map(t -> new PromptToken(t.id(), t.text(), t.start(), t.end(), t.attributed(), 0)).toList())
                    .setResponseTokens(attribution.responseTokens().stream().map(t -> new ResponseToken(t.id(), t.piece(), t.start(), t.end())).toList())
                    .setSeqAttr(list(attribution.seqAttr()))
                    .setSeqAttrNormalized(list(attribution.seqAttrNormalized()))
                    .setResponseLogprobs(list(attribution.responseLogProbs()))
                    .setBaselineLogprobs(list(attribution.baselineLogProbs()))
                    .setConvergenceDelta(list(attribution.convergenceDelta()))
                    .setSequenceDelta(attribution.sequenceDelta())
                    .setMaxAbsDelta(attribution.maxAbsDelta())
                    .setFlags(new ExplanationFlags(false, 0, false, 0, false))
                    .setBatchSize(1)
                    .setAttributionLatencyMs(12.5)
                    .setMetadata(Map.of("tenant", "acme", "application", "storybook"))
                    .build();
        }
    }

    private static List<Double> list(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
