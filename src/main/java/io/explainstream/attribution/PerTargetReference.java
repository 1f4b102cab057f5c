package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.explainstream.model.LlamaModel;

/**
 * Captum's algorithm, for comparison: one full Integrated Gradients run per response token t, over
 * the context c_t = p + r[:t] with f_t at its last position, all path points of a run in one batch
 * (Captum's default {@code internal_batch_size=None}). It gives the same numbers as the engine's
 * fast path and costs T forwards and T backwards over growing contexts where the fast path needs
 * one of each; the benchmark measures the difference. The points of a run are split into passes
 * with the engine's own memory rule (as a tuned {@code internal_batch_size} would), so that both
 * sides pay the same for large tensors.
 *
 * <p>Like Captum's {@code LayerIntegratedGradients.attribute}, each run first evaluates the layer
 * at the inputs and at the baselines with two full forward passes of the forward function
 * ({@code _forward_layer_eval}, once each), and integrates between the embeddings they captured.
 * Everything else Captum does per run (hooks, argument handling, logits at every position) is
 * left out, so the reference is a lower bound on Captum's cost.
 */
public final class PerTargetReference {

    private final LlamaModel model;
    private final int maxBatchTokens;

    public PerTargetReference(LlamaModel model, int maxBatchTokens) {
        this.model = model;
        this.maxBatchTokens = maxBatchTokens;
    }

    /**
     * @param prompt (P) prompt ids
     * @param response (T) response ids
     * @param attributed (P) which prompt positions get the baseline
     * @param baselineId the baseline token's id
     * @return (T, P) token_attr
     */
    public double[][] tokenAttr(long[] prompt, long[] response, boolean[] attributed, long baselineId, Quadrature quadrature) {
        double[][] rows = new double[response.length][];
        for (int t = 0; t < response.length; t++) {
            rows[t] = oneTarget(prompt, response, t, attributed, baselineId, quadrature);
        }
        return rows;
    }

    /**
     * IG of f_t over c_t alone: one target's run, as Captum makes it for each response token.
     *
     * @return (P) token_attr[t]
     */
    public double[] oneTarget(long[] prompt, long[] response, int t, boolean[] attributed, long baselineId, Quadrature quadrature) {
        int length = prompt.length + t;
        long[] context = new long[length];
        long[] baselineIds = new long[length];
        System.arraycopy(prompt, 0, context, 0, prompt.length);
        System.arraycopy(response, 0, context, prompt.length, t);
        for (int i = 0; i < length; i++) {
            baselineIds[i] = i < prompt.length && attributed[i] ? baselineId : context[i];
        }
        double[] shares = new double[length];
        int rowsPerPass = Chunking.rowsPerChunk(maxBatchTokens, length, model.config().numHeads());
        try (NDManager run = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray input = layerEval(run, context, response[t]); // (1, L, H)
            NDArray baseline = layerEval(run, baselineIds, response[t]); // (1, L, H)
            NDArray difference = input.sub(baseline); // (1, L, H)
            for (int from = 0; from < quadrature.steps(); from += rowsPerPass) {
                int to = Math.min(quadrature.steps(), from + rowsPerPass);
                double[] part = pass(baseline, difference, response[t], quadrature, from, to);
                for (int i = 0; i < length; i++) {
                    shares[i] += part[i];
                }
            }
        }
        double[] scores = new double[prompt.length];
        for (int i = 0; i < prompt.length; i++) {
            scores[i] = attributed[i] ? shares[i] : 0;
        }
        return scores;
    }

    /**
     * Captum's {@code _forward_layer_eval}: a full forward pass of the forward function, without
     * gradients, that captures the embedding layer's output on the way. The log-probability it
     * ends in is discarded, as Captum discards it.
     *
     * @param ids (L) the token ids of the context, or of its baseline
     * @return (1, L, H) the embeddings, owned by {@code run}
     */
    private NDArray layerEval(NDManager run, long[] ids, long target) {
        try (NDManager forward = run.newSubManager()) {
            NDArray embeddings = model.embed(forward.create(ids, new Shape(1, ids.length))); // (1, L, H)
            NDArray hidden = model.hiddenStates(embeddings, forward.ones(new Shape(1, ids.length), DataType.INT64)); // (1, L, H)
            model.logits(hidden.get(":, -1, :")).logSoftmax(1).get(0, target); // (), discarded
            embeddings.attach(run); // what Captum's hook keeps; the rest of the pass is freed here
            return embeddings;
        }
    }

    /** One forward and backward over the path points [from, to) of c_t; returns their share per position. */
    private double[] pass(NDArray baseline, NDArray difference, long target, Quadrature quadrature, int from, int to) {
        int length = (int) baseline.getShape().get(1);
        int n = to - from;
        try (NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            float[] alphas = new float[n];
            float[] weights = new float[n];
            for (int k = 0; k < n; k++) {
                alphas[k] = (float) quadrature.alphas()[from + k];
                weights[k] = (float) quadrature.weights()[from + k];
            }
            NDArray baselines = baseline.repeat(0, n); // (n, L, H)
            NDArray differences = difference.repeat(0, n); // (n, L, H)
            baselines.attach(call); // so that this pass's graph is owned by this pass
            differences.attach(call);
            NDArray points = IntegratedGradients.pathPoints(baselines, differences,
                    call.create(alphas).toType(model.dtype().dataType(), false)); // (n, L, H)
            try (GradientCollector collector = GradientTurns.open()) {
                points.setRequiresGradient(true);
                NDArray hidden = model.hiddenStates(points, call.ones(new Shape(n, length), DataType.INT64)); // (n, L, H)
                NDArray last = hidden.get(":, -1, :"); // (n, H)
                NDArray logProbs = model.logits(last).logSoftmax(1); // (n, V)
                NDArray chosen = logProbs.gather(call.full(new Shape(n, 1), target, DataType.INT64), 1); // (n, 1)
                collector.backward(chosen.sum());
                return IntegratedGradients.weightedShares(points.getGradient(), differences, call.create(weights),
                        IntegratedGradients.accumulationType(model.dtype().dataType())).sum(new int[] {0})
                        .toType(DataType.FLOAT64, false).toDoubleArray(); // (L)
            }
        }
    }
}
