package io.explainstream.attribution;

import ai.djl.engine.Engine;
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

    /** IG of f_t over c_t; returns the scores of the prompt positions. */
    private double[] oneTarget(long[] prompt, long[] response, int t, boolean[] attributed, long baselineId, Quadrature quadrature) {
        int length = prompt.length + t;
        long[] context = new long[length];
        long[] baselineIds = new long[length];
        System.arraycopy(prompt, 0, context, 0, prompt.length);
        System.arraycopy(response, 0, context, prompt.length, t);
        for (int i = 0; i < length; i++) {
            baselineIds[i] = i < prompt.length && attributed[i] ? baselineId : context[i];
        }
        double[] shares = new double[length];
        int rowsPerPass = AttributionEngine.rowsPerChunk(maxBatchTokens, length, model.config().numHeads());
        for (int from = 0; from < quadrature.steps(); from += rowsPerPass) {
            int to = Math.min(quadrature.steps(), from + rowsPerPass);
            double[] part = pass(context, baselineIds, response[t], quadrature, from, to);
            for (int i = 0; i < length; i++) {
                shares[i] += part[i];
            }
        }
        double[] scores = new double[prompt.length];
        for (int i = 0; i < prompt.length; i++) {
            scores[i] = attributed[i] ? shares[i] : 0;
        }
        return scores;
    }

    /** One forward and backward over the path points [from, to) of c_t; returns their share per position. */
    private double[] pass(long[] context, long[] baselineIds, long target, Quadrature quadrature, int from, int to) {
        int length = context.length;
        int n = to - from;
        try (NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray input = model.embed(call.create(context, new Shape(1, length))); // (1, L, H)
            NDArray baseline = model.embed(call.create(baselineIds, new Shape(1, length))); // (1, L, H)
            NDArray difference = input.sub(baseline); // (1, L, H)
            float[] alphas = new float[n];
            float[] weights = new float[n];
            for (int k = 0; k < n; k++) {
                alphas[k] = (float) quadrature.alphas()[from + k];
                weights[k] = (float) quadrature.weights()[from + k];
            }
            NDArray points = IntegratedGradients.pathPoints(baseline.repeat(0, n), difference.repeat(0, n),
                    call.create(alphas).toType(model.dtype().dataType(), false)); // (n, L, H)
            try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                points.setRequiresGradient(true);
                NDArray hidden = model.hiddenStates(points, call.ones(new Shape(n, length), DataType.INT64)); // (n, L, H)
                NDArray last = hidden.get(":, -1, :"); // (n, H)
                NDArray logProbs = model.logits(last).logSoftmax(1); // (n, V)
                NDArray chosen = logProbs.gather(call.full(new Shape(n, 1), target, DataType.INT64), 1); // (n, 1)
                collector.backward(chosen.sum());
                return IntegratedGradients.weightedShares(points.getGradient(), difference.repeat(0, n), call.create(weights),
                        IntegratedGradients.accumulationType(model.dtype().dataType())).sum(new int[] {0})
                        .toType(DataType.FLOAT64, false).toDoubleArray(); // (L)
            }
        }
    }
}
