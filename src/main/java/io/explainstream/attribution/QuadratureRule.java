package io.explainstream.attribution;

import io.explainstream.model.Choices;
import java.util.Arrays;
import java.util.Locale;

/**
 * The quadrature rules of Captum's {@code approximation_methods}, with the same points:
 * Gauss–Legendre mapped to [0, 1], and the four Riemann sums. The trapezoid weights are the
 * textbook ones, h = 1/(n−1) with halved ends, which sum to 1; Captum uses 1/n with halved ends,
 * which sum to (n−1)/n and so miss part of the integral.
 *
 * <p>And one rule Captum does not have: Clenshaw–Curtis ({@link NestedRule#CLENSHAW_CURTIS} with
 * n − 1 intervals), which converges like Gauss–Legendre on smooth integrands and whose points
 * nest, so that adaptive steps can refine it; an adaptive explanation that used it reports it,
 * and a fixed-steps run with its steps reproduces the numbers.
 */
public enum QuadratureRule {
    GAUSSLEGENDRE,
    RIEMANN_LEFT,
    RIEMANN_RIGHT,
    RIEMANN_MIDDLE,
    RIEMANN_TRAPEZOID,
    CLENSHAW_CURTIS;

    /** The points and weights for {@code steps} evaluations of the integrand. */
    public Quadrature quadrature(int steps) {
        if (steps < minimumSteps()) {
            throw new IllegalArgumentException("steps = " + steps + " is too few for " + optionName() + " (at least " + minimumSteps() + ")");
        }
        double[] alphas = new double[steps];
        double[] weights = new double[steps];
        switch (this) {
            case GAUSSLEGENDRE:
                return GaussLegendre.onUnitInterval(steps);
            case CLENSHAW_CURTIS:
                return NestedRule.CLENSHAW_CURTIS.withIntervals(steps - 1);
            case RIEMANN_LEFT:
                for (int k = 0; k < steps; k++) {
                    alphas[k] = (double) k / steps;
                }
                Arrays.fill(weights, 1.0 / steps);
                break;
            case RIEMANN_RIGHT:
                for (int k = 0; k < steps; k++) {
                    alphas[k] = (k + 1.0) / steps;
                }
                Arrays.fill(weights, 1.0 / steps);
                break;
            case RIEMANN_MIDDLE:
                for (int k = 0; k < steps; k++) {
                    alphas[k] = (k + 0.5) / steps;
                }
                Arrays.fill(weights, 1.0 / steps);
                break;
            case RIEMANN_TRAPEZOID:
                for (int k = 0; k < steps; k++) {
                    alphas[k] = (double) k / (steps - 1);
                }
                Arrays.fill(weights, 1.0 / (steps - 1));
                weights[0] /= 2;
                weights[steps - 1] /= 2;
                break;
            default:
                throw new AssertionError(this);
        }
        return new Quadrature(alphas, weights);
    }

    /** The fewest points the rule is defined for: the trapezoid and Clenshaw–Curtis need both ends. */
    int minimumSteps() {
        return this == RIEMANN_TRAPEZOID || this == CLENSHAW_CURTIS ? 2 : 1;
    }

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses an option value; {@code key} names the option in the error. */
    public static QuadratureRule parse(String key, String value) {
        return Choices.parse(QuadratureRule.class, QuadratureRule::optionName, key, value, "an integration rule");
    }
}
