package io.explainstream.attribution;

/**
 * Points along the straight path from baseline (α = 0) to input (α = 1) and the weight of each:
 * ∫₀¹ g(α) dα ≈ Σ_k weights[k] · g(alphas[k]).
 *
 * @param alphas (steps) positions on [0, 1]
 * @param weights (steps) quadrature weights, summing to 1
 */
public record Quadrature(double[] alphas, double[] weights) {

    public Quadrature {
        if (alphas.length != weights.length || alphas.length == 0) {
            throw new IllegalArgumentException("a quadrature needs as many weights as points, and at least one");
        }
    }

    public int steps() {
        return alphas.length;
    }
}
