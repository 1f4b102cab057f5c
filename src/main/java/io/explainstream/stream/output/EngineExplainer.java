package io.explainstream.stream.output;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.attribution.summary.Summary;
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
import io.explainstream.schema.TopItem;
import io.explainstream.stream.audit.Tier;
import io.explainstream.stream.batch.Explainer;
import io.explainstream.stream.batch.PendingEvent;
import io.explainstream.stream.config.Setting;
import io.explainstream.tokenize.Token;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The production {@link Explainer}: re-tokenizes each stored event exactly as validation counted
 * it (same template, same truncation), runs the whole batch through the attribution engine in one
 * call, and builds the Avro {@link Explanation} of each event.
 */
public final class EngineExplainer implements Explainer {

    /** What every explanation of this service says about the model and its settings. */
    public record Identity(String modelId, String modelFingerprint, String replayId, boolean redact) {}

    private final AttributionEngine engine;
    private final AttributionSettings settings;
    private final int summaryTopK;
    private final Identity identity;
    private final Clock clock;

    /** With summary.top.k's default. */
    public EngineExplainer(AttributionEngine engine, AttributionSettings settings, Identity identity, Clock clock) {
        this(engine, settings, Integer.parseInt(Setting.SUMMARY_TOP_K.defaultValue()), identity, clock);
    }

    public EngineExplainer(AttributionEngine engine, AttributionSettings settings, int summaryTopK, Identity identity, Clock clock) {
        this.engine = engine;
        this.settings = settings;
        this.summaryTopK = summaryTopK;
        this.identity = identity;
        this.clock = clock;
    }

    @Override
    public List<Explanation> explain(List<PendingEvent> batch) {
        return explain(batch, settings, null);
    }

    @Override
    public List<Explanation> explain(List<PendingEvent> batch, Tier tier) {
        return explain(batch, tier, null);
    }

    /**
     * The full tier runs the configured settings as they are (adaptive steps included); a full tier
     * degraded by backlog, fewer steps; the cheap tier, the same engine with a gradient method. The
     * engine stops at its next forward pass once {@code timeLimit} has passed (null: no limit).
     */
    @Override
    public List<Explanation> explain(List<PendingEvent> batch, Tier tier, Duration timeLimit) {
        if (tier.kind() == Tier.Kind.CHEAP) {
            return explain(batch, settings.withMethod(tier.method()), timeLimit);
        }
        return explain(batch, tier.reason() == Tier.Reason.BACKLOG ? settings.withSteps(tier.steps()) : settings, timeLimit);
    }

    private List<Explanation> explain(List<PendingEvent> batch, AttributionSettings settings, Duration timeLimit) {
        List<AttributionRequest> requests = new ArrayList<>();
        for (PendingEvent event : batch) {
            requests.add(event.request());
        }
        long started = System.nanoTime();
        List<Attribution> attributions = engine.attribute(requests, settings, timeLimit);
        double latencyMs = (System.nanoTime() - started) / 1e6;
        List<Explanation> explanations = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            explanations.add(toRecord(batch.get(i), attributions.get(i), batch.size(), latencyMs, settings));
        }
        return explanations;
    }

    private Explanation toRecord(PendingEvent event, Attribution attribution, int batchSize, double latencyMs, AttributionSettings settings) {
        boolean redact = identity.redact();
        Summary summary = Summary.of(event.layout(), attribution.promptTokens(), attribution.seqAttr(), attribution.tokenAttr(),
                settings.normalization(), summaryTopK);
        List<PromptToken> promptTokens = new ArrayList<>();
        for (int i = 0; i < attribution.promptTokens().size(); i++) {
            AttributionToken token = attribution.promptTokens().get(i);
            promptTokens.add(new PromptToken(token.id(), redact ? null : token.text(), token.start(), token.end(),
                    token.attributed(), summary.tokenSegment()[i]));
        }
        List<ResponseToken> responseTokens = new ArrayList<>();
        for (Token token : attribution.responseTokens()) {
            responseTokens.add(new ResponseToken(token.id(), redact ? null : token.piece(), token.start(), token.end()));
        }
        return Explanation.newBuilder()
                .setEventId(event.eventId())
                .setEventTime(Instant.ofEpochMilli(event.eventTimeMs()))
                .setProcessingTime(Instant.ofEpochMilli(clock.millis()))
                .setReplayId(identity.replayId())
                .setSourceModel(event.model())
                .setModelId(identity.modelId())
                .setModelFingerprint(identity.modelFingerprint())
                .setMethod(AttributionMethod.valueOf(settings.method().name()))
                .setIntegration(IntegrationRule.valueOf(attribution.settings().integration().name())) // the rule used: adaptive steps use their own
                .setSteps(attribution.steps())
                .setTargetSteps(java.util.Arrays.stream(attribution.targetSteps()).boxed().toList())
                .setBaseline(settings.baseline().optionName())
                .setIncludeBos(settings.includeBos())
                .setNormalization(Normalization.valueOf(settings.normalization().name()))
                .setPromptTokens(promptTokens)
                .setResponseTokens(responseTokens)
                .setSeqAttr(list(attribution.seqAttr()))
                .setSeqAttrNormalized(list(attribution.seqAttrNormalized()))
                .setTokenAttr(matrix(attribution.tokenAttr()))
                .setTokenAttrNormalized(matrix(attribution.tokenAttrNormalized()))
                .setResponseLogprobs(list(attribution.responseLogProbs()))
                .setBaselineLogprobs(list(attribution.baselineLogProbs()))
                .setConvergenceDelta(list(attribution.convergenceDelta()))
                .setSequenceDelta(attribution.sequenceDelta())
                .setMaxAbsDelta(attribution.maxAbsDelta())
                .setFlags(new ExplanationFlags(event.promptTokensDropped() > 0, event.promptTokensDropped(),
                        event.responseTokensDropped() > 0, event.responseTokensDropped(), redact))
                .setBatchSize(batchSize)
                .setAttributionLatencyMs(latencyMs)
                .setMetadata(event.metadata())
                .setSegments(segments(summary))
                .setWords(words(summary, redact))
                .setTopTokens(top(summary.topTokens(), redact))
                .setTopWords(top(summary.topWords(), redact))
                .setTopSegment(summary.topSegment())
                .setAttributionEntropy(summary.attributionEntropy())
                .build();
    }

    private static List<PromptSegment> segments(Summary summary) {
        List<PromptSegment> segments = new ArrayList<>();
        for (Summary.Segment segment : summary.segments()) {
            segments.add(new PromptSegment(segment.name(), SegmentKind.valueOf(segment.kind().name()), segment.start(), segment.end(), segment.tokens(),
                    segment.score(), segment.share(), segment.tokenScores() == null ? null : list(segment.tokenScores())));
        }
        return segments;
    }

    private static List<PromptWord> words(Summary summary, boolean redact) {
        List<PromptWord> words = new ArrayList<>();
        for (Summary.Word word : summary.words()) {
            words.add(new PromptWord(redact ? null : word.text(), word.start(), word.end(), word.tokenStart(), word.tokenEnd(), word.score(),
                    word.scoreNormalized()));
        }
        return words;
    }

    private static List<TopItem> top(List<Summary.Top> items, boolean redact) {
        List<TopItem> out = new ArrayList<>();
        for (Summary.Top item : items) {
            out.add(new TopItem(item.index(), redact ? null : item.text(), item.start(), item.end(), item.score()));
        }
        return out;
    }

    private static List<Double> list(double[] values) {
        return Arrays.stream(values).boxed().collect(Collectors.toList());
    }

    private static List<List<Double>> matrix(double[][] rows) {
        if (rows == null) {
            return null;
        }
        List<List<Double>> out = new ArrayList<>();
        for (double[] row : rows) {
            out.add(list(row));
        }
        return out;
    }
}
