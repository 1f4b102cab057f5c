package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * The arithmetic of Integrated Gradients, for a batch of N path points (rows), each point of one
 * event:
 *
 * <pre>
 *   e_k = b + α_k · (x − b)
 *   attr[i] = Σ_d (x − b)[i, d] · Σ_k w_k · ∂f/∂e[i, d] at e_k
 * </pre>
 *
 * The sum over k runs across rows (and chunks) of the same event; the caller adds the per-row
 * shares this class returns. The gradient methods reuse it with b = 0, α = 1, w = 1 and a
 * multiplier of x (input × gradient) or of ones (gradient). Shares accumulate in float32 (float64
 * for a float64 model) whatever the compute dtype.
 */
final class IntegratedGradients {

    private IntegratedGradients() {}

    /**
     * The path points e_k = b + α_k·(x − b), one per row.
     *
     * @param baselines (N, L, H) b of each row's event
     * @param differences (N, L, H) x − b of each row's event
     * @param alphas (N) each row's position on the path
     * @return (N, L, H)
     */
    static NDArray pathPoints(NDArray baselines, NDArray differences, NDArray alphas) {
        long n = alphas.getShape().get(0);
        return baselines.add(differences.mul(alphas.reshape(n, 1, 1)));
    }

    /**
     * Each row's weighted share of the attribution, summed over the embedding dimension:
     * w_k · Σ_d multiplier[i, d] · ∂f/∂e[i, d], computed in the {@code accumulation} dtype.
     *
     * @param gradients (N, L, H) ∂f/∂e at each row's path point
     * @param multipliers (N, L, H) x − b for integrated gradients
     * @param stepWeights (N) quadrature weight of each row
     * @param accumulation float32 or float64 for reported values; the compute dtype where the
     *     result must stay differentiable (DJL's dtype conversion of a gradient drops its graph)
     * @return (N, L)
     */
    static NDArray weightedShares(NDArray gradients, NDArray multipliers, NDArray stepWeights, DataType accumulation) {
        long n = stepWeights.getShape().get(0);
        NDArray weighted = gradients.toType(accumulation, false).mul(stepWeights.toType(accumulation, false).reshape(n, 1, 1)); // (N, L, H)
        return weighted.mul(multipliers.toType(accumulation, false)).sum(new int[] {2}); // (N, L)
    }

    /** The dtype reported sums accumulate in: float64 for a float64 model, else float32. */
    static DataType accumulationType(DataType computeType) {
        return computeType == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    }
}
