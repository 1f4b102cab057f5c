package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.explainstream.attribution.IntegratedGradients.Endpoints;
import io.explainstream.attribution.IntegratedGradients.Mode;
import io.explainstream.attribution.IntegratedGradients.Path;
import io.explainstream.attribution.IntegratedGradients.Scores;
import io.explainstream.model.LlamaModel;
import io.explainstream.tokenize.LlamaTokenizer;
import io.explainstream.tokenize.Token;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

/**
 * Explains responses with attribution at the embedding-layer outputs of a LLaMA model: Captum's
 * {@code LLMGradientAttribution(LayerIntegratedGradients(model, model.embed_tokens))} numbers,
 * computed with one teacher-forced forward per path point for all response tokens, several events
 * per call and the path points batched along the batch dimension.
 *
 * <p>A call, in order: the events are checked and laid out ({@link PreparedEvent}), batched side by
 * side ({@link EventBatch}), their rows cut to the memory budget ({@link Chunking}); then
 * {@link IntegratedGradients} integrates the model's response log-probabilities
 * ({@link ResponseLogProbs}) along each event's path, with the configured rule and steps or, with a
 * target delta, with a nested rule refined while a completeness gap is too large ({@link AdaptiveSteps}),
 * and the scores are laid out per prompt token.
 *
 * <p>One thread uses an engine at a time: it owns the model, and DJL allows one open gradient
 * collector per JVM.
 */
public final class AttributionEngine {

    /** Below this |f_t(x) − f_t(b)|, the adaptive-steps tolerance is taken relative to it instead. */
    static final double ABSOLUTE_DELTA_FLOOR = AdaptiveSteps.ABSOLUTE_DELTA_FLOOR;

    private final LlamaModel model;
    private final LlamaTokenizer tokenizer;
    /** Set once, from any thread, when the owner shuts down; the engine thread sees it between forward passes. */
    private volatile boolean cancelled;

    public AttributionEngine(LlamaModel model, LlamaTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /**
     * Stops the call in progress at its next forward pass, and every later call, with
     * {@link AttributionCancelledException}: for a shutdown that must not wait for a long batch.
     */
    public void cancel() {
        cancelled = true;
    }

    public LlamaModel model() {
        return model;
    }

    public LlamaTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * Refuses settings this model and tokenizer cannot honour (a baseline token outside the
     * vocabulary, a pad baseline without a pad token), so that a service fails at start instead of
     * at every batch.
     *
     * @throws AttributionSettings.Refused naming the option
     */
    public void check(AttributionSettings settings) {
        baselineTokenId(settings.baseline());
    }

    public Attribution attribute(AttributionRequest request, AttributionSettings settings) {
        return attribute(List.of(request), settings).get(0);
    }

    /** Explains several events in one call; the results are in request order. */
    public List<Attribution> attribute(List<AttributionRequest> requests, AttributionSettings settings) {
        return attribute(requests, settings, null);
    }

    /**
     * Explains several events in one call within a time limit: past it, the call stops at its next
     * forward pass with {@link AttributionTimeLimitException} (a Kafka transaction that holds the
     * call would otherwise be aborted by the broker, and the call redone for ever).
     *
     * @param timeLimit the longest the call may take; null: no limit
     */
    public List<Attribution> attribute(List<AttributionRequest> requests, AttributionSettings settings, Duration timeLimit) {
        long deadline = System.nanoTime() + (timeLimit == null ? 0 : timeLimit.toNanos());
        BooleanSupplier overdue = timeLimit == null ? () -> false : () -> System.nanoTime() - deadline > 0;
        if (requests.isEmpty()) {
            return List.of();
        }
        List<PreparedEvent> events = new ArrayList<>();
        for (AttributionRequest request : requests) {
            events.add(prepare(request, settings));
        }
        long baselineId = baselineTokenId(settings.baseline()); // refused for every method, as the option is
        try (NDManager batchManager = NDManager.newBaseManager(model.device(), "PyTorch")) {
            EventBatch batch = EventBatch.build(batchManager, model, events);
            ResponseLogProbs targets = new ResponseLogProbs(model, batch);
            Chunking chunking = Chunking.of(settings.maxBatchTokens(), batch.length, model.config().numHeads(), () -> cancelled, overdue);
            if (settings.method() == GradientMethod.INTEGRATED_GRADIENTS) {
                Path path = batch.path(baselineEmbedding(batchManager, settings.baseline(), baselineId));
                return integratedGradients(events, settings, path, targets, chunking);
            }
            return gradientMethod(events, settings, batch, targets, chunking);
        }
    }

    /**
     * Adaptive steps alone, with a given plan, and what they cost: for the tests that count passes
     * and compare nested rules, on the same batches, paths and targets as {@link #attribute}.
     */
    AdaptiveSteps.Result adaptiveSteps(List<AttributionRequest> requests, AttributionSettings settings, AdaptiveSteps.Plan plan) {
        List<PreparedEvent> events = new ArrayList<>();
        for (AttributionRequest request : requests) {
            events.add(prepare(request, settings));
        }
        try (NDManager batchManager = NDManager.newBaseManager(model.device(), "PyTorch")) {
            EventBatch batch = EventBatch.build(batchManager, model, events);
            ResponseLogProbs targets = new ResponseLogProbs(model, batch);
            Chunking chunking = Chunking.of(settings.maxBatchTokens(), batch.length, model.config().numHeads(), () -> cancelled, () -> false);
            Path path = batch.path(baselineEmbedding(batchManager, settings.baseline(), baselineTokenId(settings.baseline())));
            return AdaptiveSteps.integrate(path, targets, IntegratedGradients.endpoints(path, targets, chunking), plan, mode(settings), chunking);
        }
    }

    /** f_t(x) and f_t(b), then IG of every event (with adaptive steps), then each event's completeness gaps. */
    private static List<Attribution> integratedGradients(List<PreparedEvent> events, AttributionSettings settings, Path path,
            ResponseLogProbs targets, Chunking chunking) {
        Endpoints endpoints = IntegratedGradients.endpoints(path, targets, chunking);
        List<Integrated> integrated = integrateAdaptively(path, targets, endpoints, settings, chunking);
        List<Attribution> out = new ArrayList<>();
        for (int e = 0; e < events.size(); e++) {
            out.add(withCompleteness(events.get(e), settings, integrated.get(e), endpoints.input()[e], endpoints.baseline()[e]));
        }
        return out;
    }

    /** f_t(x), then the gradient at x times x or ones: no baseline, so no completeness to check. */
    private static List<Attribution> gradientMethod(List<PreparedEvent> events, AttributionSettings settings, EventBatch batch,
            ResponseLogProbs targets, Chunking chunking) {
        double[][] inputLogProbs = IntegratedGradients.values(List.of(batch.inputs), targets, chunking)[0];
        List<Scores> scores = IntegratedGradients.atInput(batch.inputs, batch.gradientMultipliers(settings.method()), targets,
                IntStream.range(0, events.size()).toArray(), mode(settings), chunking);
        List<Attribution> out = new ArrayList<>();
        for (int e = 0; e < events.size(); e++) {
            out.add(explanation(events.get(e), settings, scores.get(e), 1, new int[0], inputLogProbs[e], new double[0], new double[0], 0));
        }
        return out;
    }

    private static Mode mode(AttributionSettings settings) {
        return settings.tokenMatrix() ? Mode.MATRIX : Mode.SEQUENCE;
    }

    /** One event's integrated gradients, the steps they took, and with adaptive steps in matrix mode each target's (else empty). */
    private record Integrated(Scores scores, int steps, int[] targetSteps) {}

    /**
     * Integrated gradients at the configured rule and steps; with a target delta, adaptive steps
     * ({@link AdaptiveSteps}) with the rule's nested counterpart instead, from the configured steps
     * up to the cap.
     */
    private static List<Integrated> integrateAdaptively(Path path, ResponseLogProbs targets, Endpoints endpoints,
            AttributionSettings settings, Chunking chunking) {
        int[] events = IntStream.range(0, path.events()).toArray();
        List<Integrated> result = new ArrayList<>();
        if (!settings.adaptive()) {
            List<Scores> scores = IntegratedGradients.attribute(path, targets, events, settings.integration().quadrature(settings.steps()),
                    mode(settings), chunking);
            scores.forEach(s -> result.add(new Integrated(s, settings.steps(), new int[0])));
            return result;
        }
        AdaptiveSteps.Result adaptive = AdaptiveSteps.integrate(path, targets, endpoints, plan(settings), mode(settings), chunking);
        for (int e = 0; e < events.length; e++) {
            result.add(new Integrated(adaptive.scores().get(e), adaptive.steps()[e], adaptive.targetSteps()[e]));
        }
        return result;
    }

    static AdaptiveSteps.Plan plan(AttributionSettings settings) {
        return new AdaptiveSteps.Plan(NestedRule.refining(settings.integration()), settings.steps(), settings.maxSteps(), settings.targetDelta());
    }

    private static double sum(double[] values) {
        double total = 0;
        for (double value : values) {
            total += value;
        }
        return total;
    }

    /** The explanation of an integrated-gradients result, with its completeness gaps: per target with the matrix, and for the sequence. */
    private static Attribution withCompleteness(PreparedEvent event, AttributionSettings settings, Integrated integrated,
            double[] inputLogProbs, double[] baselineLogProbs) {
        double[] delta = new double[0];
        if (integrated.scores() instanceof Scores.Matrix matrix) {
            double[] targetSums = matrix.targetSums();
            delta = new double[baselineLogProbs.length];
            for (int t = 0; t < delta.length; t++) {
                delta[t] = inputLogProbs[t] - baselineLogProbs[t] - targetSums[t];
            }
        }
        double sequenceDelta = sum(inputLogProbs) - sum(baselineLogProbs) - sum(promptScores(integrated.scores().seqAttr(), event));
        // Adaptive steps integrate with a nested rule: the explanation names the one that was used.
        AttributionSettings used = settings.adaptive() ? settings.withIntegration(settings.adaptiveIntegration()) : settings;
        return explanation(event, used, integrated.scores(), integrated.steps(), integrated.targetSteps(), inputLogProbs, baselineLogProbs, delta,
                sequenceDelta);
    }

    /** The scores laid out per prompt token, with their normalized copies. */
    private static Attribution explanation(PreparedEvent event, AttributionSettings settings, Scores scores, int steps, int[] targetSteps,
            double[] inputLogProbs, double[] baselineLogProbs, double[] delta, double sequenceDelta) {
        List<AttributionToken> promptTokens = new ArrayList<>();
        List<Token> tokens = event.request().prompt().tokens();
        for (int i = 0; i < event.promptLength(); i++) {
            Token token = tokens.get(i);
            promptTokens.add(new AttributionToken(token.id(), token.piece(), token.start(), token.end(), event.attributed()[i]));
        }
        double[] seqAttr = promptScores(scores.seqAttr(), event);
        double[][] tokenAttr = null;
        double[][] tokenAttrNormalized = null;
        if (scores instanceof Scores.Matrix matrix) {
            tokenAttr = new double[event.responseLength()][];
            tokenAttrNormalized = new double[event.responseLength()][];
            for (int t = 0; t < tokenAttr.length; t++) {
                tokenAttr[t] = promptScores(matrix.tokenAttr()[t], event);
                tokenAttrNormalized[t] = settings.normalization().apply(tokenAttr[t]);
            }
        }
        return new Attribution(promptTokens, event.request().response().tokens(), seqAttr, settings.normalization().apply(seqAttr),
                tokenAttr, tokenAttrNormalized, inputLogProbs, baselineLogProbs, delta, sequenceDelta, steps, targetSteps, settings);
    }

    /** The prompt part of a per-position row, with 0 where nothing is attributed. */
    private static double[] promptScores(double[] perPosition, PreparedEvent event) {
        double[] scores = new double[event.promptLength()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = event.attributed()[i] ? perPosition[i] : 0;
        }
        return scores;
    }

    private PreparedEvent prepare(AttributionRequest request, AttributionSettings settings) {
        long[] prompt = request.prompt().ids();
        long[] response = request.response().ids();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt is empty: there is nothing to attribute to");
        }
        if (response.length == 0) {
            throw new IllegalArgumentException("response is empty: there is nothing to explain");
        }
        int context = model.config().maxPositions();
        if (prompt.length + response.length > context) {
            throw new IllegalArgumentException("prompt (" + prompt.length + " tokens) + response (" + response.length
                    + " tokens) exceed the model's context of " + context + " tokens (max_position_embeddings)");
        }
        long[] ids = new long[prompt.length + response.length];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= model.config().vocabSize()) {
                throw new IllegalArgumentException((i < prompt.length ? "prompt" : "response") + " token id " + ids[i]
                        + " is outside the model's vocabulary of " + model.config().vocabSize());
            }
        }
        boolean[] attributed = new boolean[ids.length];
        boolean any = false;
        for (int i = 0; i < prompt.length; i++) {
            // Captum's skip_tokens=[bos] skips every BOS, also those a chat template puts inside the prompt.
            attributed[i] = settings.includeBos() || prompt[i] != tokenizer.bosId();
            any |= attributed[i];
        }
        if (!any) {
            throw new IllegalArgumentException("prompt has no token to attribute to (only BOS, which is skipped; use include-bos)");
        }
        return new PreparedEvent(request, ids, prompt.length, attributed, response);
    }

    private long baselineTokenId(Baseline baseline) {
        switch (baseline.kind()) {
            case UNK:
                return tokenizer.unkId();
            case PAD:
                if (tokenizer.padId() < 0) {
                    throw new AttributionSettings.Refused(n -> n.apply(AttributionSettings.Option.BASELINE)
                            + " = pad, but the tokenizer defines no pad token; use unk, zero or a token id");
                }
                return tokenizer.padId();
            case TOKEN:
                if (baseline.tokenId() >= model.config().vocabSize()) {
                    throw new AttributionSettings.Refused(n -> n.apply(AttributionSettings.Option.BASELINE) + " = " + baseline.tokenId()
                            + " is outside the model's vocabulary of " + model.config().vocabSize());
                }
                return baseline.tokenId();
            default:
                return -1;
        }
    }

    /** @return (H) the baseline token's embedding, or zeros */
    private NDArray baselineEmbedding(NDManager manager, Baseline baseline, long tokenId) {
        if (baseline.kind() == Baseline.Kind.ZERO) {
            return manager.zeros(new Shape(model.config().hiddenSize()), model.dtype().dataType());
        }
        return model.embed(manager.create(new long[] {tokenId}, new Shape(1, 1))).reshape(-1);
    }

    @Override
    public String toString() {
        return "AttributionEngine[" + model.checkpoint().directory() + " on " + model.device() + ", " + model.dtype().optionName() + "]";
    }
}
