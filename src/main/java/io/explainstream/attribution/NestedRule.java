package io.explainstream.attribution;

/**
 * Quadrature rules whose points nest: the rule with 2n intervals holds every point of the rule
 * with n intervals (point j of n is point 2j of 2n, as the same double), so adaptive steps refine
 * by evaluating only the n new points and reuse every gradient already computed. Gauss–Legendre
 * points do not nest: refining it recomputes every point.
 *
 * <ul>
 *   <li>{@link #CLENSHAW_CURTIS}: α_j = sin²(πj / 2n) = (1 − cos(πj/n)) / 2, the Chebyshev
 *       extreme points mapped to [0, 1], with the weights that integrate the polynomial through
 *       them exactly. It converges as fast as Gauss–Legendre with the same points on smooth
 *       integrands (Trefethen, "Is Gauss quadrature better than Clenshaw–Curtis?", 2008).
 *   <li>{@link #TRAPEZOID}: α_j = j/n with weights 1/n and halved ends; error O(1/n²).
 * </ul>
 *
 * Both include the ends α = 0 (the baseline) and α = 1 (the input). Which one converges with
 * fewer points depends on the model ({@link #refining}), so the integration setting chooses.
 */
enum NestedRule {
    CLENSHAW_CURTIS,
    TRAPEZOID;

    /**
     * The nested rule adaptive steps use in place of {@code rule}: the trapezoid for itself,
     * Clenshaw–Curtis for itself and for Gauss–Legendre. Clenshaw–Curtis is Gauss–Legendre's
     * nested counterpart: both converge spectrally where the path integrand is smooth, and on the
     * one trained model with a real vocabulary measured here (stories15M, Llama 2's 32,000 pieces)
     * it brought every target's delta within 1% at 16 points where the trapezoid needed 31 to 61,
     * as on the generated checkpoints (2 to 8 times fewer points). The trapezoid wins only on the
     * bundled 260K-parameter model, whose integrands are rough (docs/benchmarks.md, "A trained
     * model with the Llama 2 vocabulary"). Each rule's n + 1 points are exactly its
     * {@link QuadratureRule} with n + 1 steps, so an explanation can say which rule it used and be
     * reproduced with fixed steps. The other Riemann sums are refused: their points do not nest
     * under doubling here.
     */
    static NestedRule refining(QuadratureRule rule) {
        if (!refines(rule)) {
            // AttributionSettings refuses such a rule with a target delta, in the caller's words; no plan gets here with one.
            throw new IllegalArgumentException(rule.optionName() + " has no nested counterpart");
        }
        return rule == QuadratureRule.RIEMANN_TRAPEZOID ? TRAPEZOID : CLENSHAW_CURTIS;
    }

    /** Whether adaptive steps can stand in for {@code rule} ({@link #refining}). */
    static boolean refines(QuadratureRule rule) {
        return rule == QuadratureRule.GAUSSLEGENDRE || rule == QuadratureRule.RIEMANN_TRAPEZOID || rule == QuadratureRule.CLENSHAW_CURTIS;
    }

    /** The fixed-steps rule with the same points and weights, which an explanation reports. */
    QuadratureRule reportedAs() {
        return this == TRAPEZOID ? QuadratureRule.RIEMANN_TRAPEZOID : QuadratureRule.CLENSHAW_CURTIS;
    }

    /** The n + 1 points of n intervals, ascending from α = 0 to α = 1, and their weights (summing to 1). */
    Quadrature withIntervals(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("intervals = " + n + " must be at least 1");
        }
        double[] alphas = new double[n + 1];
        double[] weights = new double[n + 1];
        for (int j = 0; j <= n; j++) {
            alphas[j] = alpha(j, n);
            weights[j] = this == TRAPEZOID ? (j == 0 || j == n ? 0.5 : 1.0) / n : clenshawCurtisWeight(j, n);
        }
        return new Quadrature(alphas, weights);
    }

    /** Point j of n intervals; written so that alpha(2j, 2n) is the same double (both scalings by 2 are exact). */
    double alpha(int j, int n) {
        if (this == TRAPEZOID) {
            return (double) j / n;
        }
        double sine = Math.sin(Math.PI * j / (2.0 * n)); // sin² avoids the cancellation of 1 − cos near α = 0
        return sine * sine;
    }

    /**
     * Clenshaw–Curtis weight of x_j = cos(πj/n) on [−1, 1] (Waldvogel's closed form), halved for [0, 1]:
     * w_j = c_j/n · (1 − Σ_{k=1}^{⌊n/2⌋} b_k/(4k² − 1) · cos(2πkj/n)), c = 1 at the ends and 2
     * inside, b = 1 for k = n/2 and 2 otherwise. O(n) per weight, O(n²) per rule: under 10 ms at
     * the steps limit.
     */
    private static double clenshawCurtisWeight(int j, int n) {
        double sum = 0;
        for (int k = 1; k <= n / 2; k++) {
            double b = 2 * k == n ? 1 : 2;
            sum += b / (4.0 * k * k - 1) * Math.cos(2 * Math.PI * k * j / n);
        }
        double c = j == 0 || j == n ? 1 : 2;
        return c / n * (1 - sum) / 2;
    }
}
