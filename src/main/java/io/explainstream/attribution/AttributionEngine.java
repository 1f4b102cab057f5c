package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.explainstream.model.LlamaModel;
import io.explainstream.tokenize.LlamaTokenizer;
import io.explainstream.tokenize.Token;
import java.util.ArrayList;
import java.util.List;

/**
 * Explains responses with attribution at the embedding-layer outputs of a LLaMA model: Captum's
 * {@code LLMGradientAttribution(LayerIntegratedGradients(model, model.embed_tokens))} numbers,
 * computed with one teacher-forced forward per path point for all response tokens, several events
 * per call and the path points batched along the batch dimension.
 *
 * <p>One thread uses an engine at a time: it owns the model, and DJL allows one open gradient
 * collector per JVM.
 */
public final class AttributionEngine {

    /** Below this |f_t(x) − f_t(b)|, the adaptive-steps tolerance is taken relative to it instead. */
    static final double ABSOLUTE_DELTA_FLOOR = 1e-2;

    private final LlamaModel model;
    private final LlamaTokenizer tokenizer;
    private final PathIntegrator integrator;
    /** Set once, from any thread, when the owner shuts down; the engine thread sees it between forward passes. */
    private volatile boolean cancelled;

    public AttributionEngine(LlamaModel model, LlamaTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.integrator = new PathIntegrator(model, () -> cancelled);
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

    public Attribution attribute(AttributionRequest request, AttributionSettings settings) {
        return attribute(List.of(request), settings).get(0);
    }

    /** Explains several events in one call; the results are in request order. */
    public List<Attribution> attribute(List<AttributionRequest> requests, AttributionSettings settings) {
        if (requests.isEmpty()) {
            return List.of();
        }
        List<PreparedEvent> events = new ArrayList<>();
        for (AttributionRequest request : requests) {
            events.add(prepare(request, settings));
        }
        long baselineId = baselineTokenId(settings.baseline());
        try (NDManager batchManager = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray baselineEmbedding = baselineEmbedding(batchManager, settings.baseline(), baselineId); // (H)
            EventBatch batch = EventBatch.build(batchManager, model, events, settings.method(), baselineEmbedding);
            int rowsPerChunk = rowsPerChunk(settings.maxBatchTokens(), batch.length, model.config().numHeads());
            boolean integrated = settings.method() == AttributionMethod.INTEGRATED_GRADIENTS;
            double[][][] endpoints = integrator.endpoints(batch, integrated, rowsPerChunk); // f(x), and f(b) for IG
            if (!integrated) {
                PathIntegrator.Shares shares = integrate(batch, allEvents(events.size()), new Quadrature(new double[] {1}, new double[] {1}),
                        settings.tokenMatrix(), rowsPerChunk);
                return assemble(events, settings, shares, endpoints[0], null, new int[events.size()], 1);
            }
            return integrateAdaptively(events, settings, batch, rowsPerChunk, endpoints[0], endpoints[1]);
        }
    }

    /**
     * Rows (path points) per forward pass: at most {@code maxBatchTokens} tokens, and attention
     * scores (heads × L² per row) of at most 1024 × {@code maxBatchTokens} elements. On a CPU,
     * tensors over glibc's 32 MB mmap threshold are mapped and faulted in afresh each time: with
     * long sequences, scores past that size made passes twice as slow (measured: P401/T48 on the
     * bundled model, 12.2 s with 9 rows per pass, 6.6 s with 2).
     */
    static int rowsPerChunk(int maxBatchTokens, int length, int heads) {
        long byTokens = maxBatchTokens / length;
        long byScores = 1024L * maxBatchTokens / ((long) heads * length * length);
        return (int) Math.max(1, Math.min(byTokens, byScores));
    }

    /**
     * Integrated gradients at the configured steps; with a target delta, events whose delta is
     * too large are integrated again with twice the steps, up to the cap.
     */
    private List<Attribution> integrateAdaptively(List<PreparedEvent> events, AttributionSettings settings, EventBatch batch,
            int rowsPerChunk, double[][] inputLogProbs, double[][] baselineLogProbs) {
        int count = events.size();
        PathIntegrator.Shares result = new PathIntegrator.Shares(events, batch.length, settings.tokenMatrix());
        int[] stepsUsed = new int[count];
        int[] pending = allEvents(count);
        int steps = settings.steps();
        while (pending.length > 0) {
            PathIntegrator.Shares shares = integrate(batch, pending, settings.integration().quadrature(steps), settings.tokenMatrix(), rowsPerChunk);
            List<Integer> unconverged = new ArrayList<>();
            for (int e : pending) {
                copyEvent(shares, result, e);
                stepsUsed[e] = steps;
                if (settings.adaptive() && !converged(settings.targetDelta(), inputLogProbs[e], baselineLogProbs[e], result, e)) {
                    unconverged.add(e);
                }
            }
            if (steps >= settings.maxSteps()) {
                break;
            }
            steps = Math.min(settings.maxSteps(), steps * 2);
            pending = unconverged.stream().mapToInt(Integer::intValue).toArray();
        }
        return assemble(events, settings, result, inputLogProbs, baselineLogProbs, stepsUsed, 0);
    }

    /**
     * With the matrix: |delta_t| ≤ tolerance · max(|f_t(x) − f_t(b)|, floor) for every target.
     * Without it, the same rule for the whole response: the sequence delta against
     * Σ_t (f_t(x) − f_t(b)).
     */
    static boolean converged(double tolerance, double[] inputLogProbs, double[] baselineLogProbs, PathIntegrator.Shares shares, int e) {
        if (shares.targetSums == null) {
            double change = sum(inputLogProbs) - sum(baselineLogProbs);
            return withinTolerance(tolerance, change, change - sum(shares.total[e]));
        }
        for (int t = 0; t < inputLogProbs.length; t++) {
            double change = inputLogProbs[t] - baselineLogProbs[t];
            if (!withinTolerance(tolerance, change, change - shares.targetSums[e][t])) {
                return false;
            }
        }
        return true;
    }

    static boolean withinTolerance(double tolerance, double change, double delta) {
        return Math.abs(delta) <= tolerance * Math.max(Math.abs(change), ABSOLUTE_DELTA_FLOOR);
    }

    private static double sum(double[] values) {
        double total = 0;
        for (double value : values) {
            total += value;
        }
        return total;
    }

    private PathIntegrator.Shares integrate(EventBatch batch, int[] events, Quadrature quadrature, boolean matrix, int rowsPerChunk) {
        int steps = quadrature.steps();
        int[] rowEvent = new int[events.length * steps];
        double[] alphas = new double[rowEvent.length];
        double[] weights = new double[rowEvent.length];
        for (int j = 0; j < events.length; j++) {
            for (int k = 0; k < steps; k++) {
                rowEvent[j * steps + k] = events[j];
                alphas[j * steps + k] = quadrature.alphas()[k];
                weights[j * steps + k] = quadrature.weights()[k];
            }
        }
        return integrator.integrate(batch, rowEvent, alphas, weights, matrix, rowsPerChunk);
    }

    private static void copyEvent(PathIntegrator.Shares from, PathIntegrator.Shares to, int e) {
        to.total[e] = from.total[e];
        if (to.perTarget != null) {
            to.targetSums[e] = from.targetSums[e];
            to.perTarget[e] = from.perTarget[e];
        }
    }

    private static int[] allEvents(int count) {
        return java.util.stream.IntStream.range(0, count).toArray();
    }

    private List<Attribution> assemble(List<PreparedEvent> events, AttributionSettings settings, PathIntegrator.Shares shares,
            double[][] inputLogProbs, double[][] baselineLogProbs, int[] stepsUsed, int fixedSteps) {
        List<Attribution> out = new ArrayList<>();
        for (int e = 0; e < events.size(); e++) {
            PreparedEvent event = events.get(e);
            int p = event.promptLength();
            List<PromptToken> promptTokens = new ArrayList<>();
            List<Token> tokens = event.request().prompt().tokens();
            for (int i = 0; i < p; i++) {
                Token token = tokens.get(i);
                promptTokens.add(new PromptToken(token.id(), token.piece(), token.start(), token.end(), event.attributed()[i]));
            }
            double[] seqAttr = promptScores(shares.total[e], event);
            double[][] tokenAttr = null;
            double[][] tokenAttrNormalized = null;
            if (shares.perTarget != null) {
                tokenAttr = new double[event.responseLength()][];
                tokenAttrNormalized = new double[event.responseLength()][];
                for (int t = 0; t < tokenAttr.length; t++) {
                    tokenAttr[t] = promptScores(shares.perTarget[e][t], event);
                    tokenAttrNormalized[t] = settings.normalization().apply(tokenAttr[t]);
                }
            }
            double[] baseline = baselineLogProbs == null ? new double[0] : baselineLogProbs[e];
            double[] delta = new double[shares.targetSums == null ? 0 : baseline.length];
            for (int t = 0; t < delta.length; t++) {
                delta[t] = inputLogProbs[e][t] - baseline[t] - shares.targetSums[e][t];
            }
            double sequenceDelta = baselineLogProbs == null ? 0 : sum(inputLogProbs[e]) - sum(baseline) - sum(seqAttr);
            out.add(new Attribution(promptTokens, event.request().response().tokens(), seqAttr,
                    settings.normalization().apply(seqAttr), tokenAttr, tokenAttrNormalized, inputLogProbs[e], baseline, delta,
                    sequenceDelta, fixedSteps > 0 ? fixedSteps : stepsUsed[e], settings));
        }
        return out;
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
                    throw new IllegalArgumentException("baseline = pad, but the tokenizer defines no pad token; use unk, zero or a token id");
                }
                return tokenizer.padId();
            case TOKEN:
                if (baseline.tokenId() >= model.config().vocabSize()) {
                    throw new IllegalArgumentException("baseline = " + baseline.tokenId() + " is outside the model's vocabulary of "
                            + model.config().vocabSize());
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
