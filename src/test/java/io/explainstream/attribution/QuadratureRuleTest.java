package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * IG's arithmetic against a function whose path integral is known in closed form:
 * f(e) = Σ c·e³, so ∂f/∂e = 3c·e² and the exact attribution is attr[i] = Σ_d c·(x³ − b³)[i, d]
 * (the fundamental theorem of calculus, coordinate by coordinate along the straight path).
 */
class QuadratureRuleTest {

    private static final Shape SHAPE = new Shape(1, 3, 4); // (N=1, L=3, H=4)

    @Test
    void riemannPointsAreCaptumsAndWeightsSumToOne() {
        assertArrayClose(new double[] {0, 0.25, 0.5, 0.75}, QuadratureRule.RIEMANN_LEFT.quadrature(4).alphas());
        assertArrayClose(new double[] {0.25, 0.5, 0.75, 1}, QuadratureRule.RIEMANN_RIGHT.quadrature(4).alphas());
        assertArrayClose(new double[] {0.125, 0.375, 0.625, 0.875}, QuadratureRule.RIEMANN_MIDDLE.quadrature(4).alphas());
        assertArrayClose(new double[] {0, 1 / 3.0, 2 / 3.0, 1}, QuadratureRule.RIEMANN_TRAPEZOID.quadrature(4).alphas());
        assertArrayClose(new double[] {1 / 6.0, 1 / 3.0, 1 / 3.0, 1 / 6.0}, QuadratureRule.RIEMANN_TRAPEZOID.quadrature(4).weights());
        for (QuadratureRule rule : QuadratureRule.values()) {
            assertEquals(1.0, Arrays.stream(rule.quadrature(7).weights()).sum(), 1e-12, rule + " weights");
        }
    }

    @Test
    void everyRuleConvergesToTheExactIntegralAtItsOrder() {
        // Gauss–Legendre with n points is exact for polynomials of degree 2n−1 (the integrand is
        // degree 2), up to the float32 of the step weights.
        assertTrue(error(QuadratureRule.GAUSSLEGENDRE, 2) < 1e-6, "gauss-legendre, 2 steps: " + error(QuadratureRule.GAUSSLEGENDRE, 2));
        // Left and right sums: first order, error halves when the steps double.
        for (QuadratureRule rule : new QuadratureRule[] {QuadratureRule.RIEMANN_LEFT, QuadratureRule.RIEMANN_RIGHT}) {
            double coarse = error(rule, 32);
            double fine = error(rule, 64);
            assertEquals(2.0, coarse / fine, 0.1, rule + " error ratio " + coarse + " / " + fine);
        }
        // Midpoint and trapezoid: second order, error quarters when the steps double.
        for (QuadratureRule rule : new QuadratureRule[] {QuadratureRule.RIEMANN_MIDDLE, QuadratureRule.RIEMANN_TRAPEZOID}) {
            double coarse = error(rule, 32);
            double fine = error(rule, 64);
            assertEquals(4.0, coarse / fine, 0.2, rule + " error ratio " + coarse + " / " + fine);
            assertTrue(fine < 1e-3, rule + " error at 64 steps: " + fine);
        }
    }

    @Test
    void gaussLegendreAtTheStepsLimitIsFastAndExact() {
        long start = System.nanoTime();
        Quadrature rule = QuadratureRule.GAUSSLEGENDRE.quadrature(AttributionSettings.STEPS_LIMIT);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 5, "10,000 nodes took " + seconds + " s");
        double[] alphas = rule.alphas();
        double[] weights = rule.weights();
        assertEquals(1.0, Arrays.stream(weights).sum(), 1e-12);
        for (int i = 0; i < alphas.length; i++) {
            assertTrue(alphas[i] > 0 && alphas[i] < 1 && (i == 0 || alphas[i] > alphas[i - 1]), "ascending nodes inside (0, 1) at " + i);
            assertEquals(alphas[i], 1 - alphas[alphas.length - 1 - i], 1e-15, "symmetric at " + i);
        }
        // Exact for polynomials: ∫₀¹ x^k dx = 1/(k+1).
        for (int k : new int[] {1, 7, 100, 999}) {
            double sum = 0;
            for (int i = 0; i < alphas.length; i++) {
                sum += weights[i] * Math.pow(alphas[i], k);
            }
            assertEquals(1.0 / (k + 1), sum, 1e-13, "x^" + k);
        }
    }

    @Test
    void stepsOverTheLimitAreRefused() {
        var error = assertThrows(IllegalArgumentException.class, () -> AttributionSettings.DEFAULTS.withSteps(AttributionSettings.STEPS_LIMIT + 1));
        assertEquals("steps = 10001 is more than the limit of 10000", error.getMessage());
    }

    @Test
    void tooFewStepsAreRefusedWithTheRule() {
        var error = assertThrows(IllegalArgumentException.class, () -> QuadratureRule.RIEMANN_TRAPEZOID.quadrature(1));
        assertEquals("steps = 1 is too few for riemann_trapezoid (at least 2)", error.getMessage());
        var parse = assertThrows(IllegalArgumentException.class, () -> QuadratureRule.parse("--integration", "simpson"));
        assertTrue(parse.getMessage().startsWith("--integration = 'simpson' is not an integration rule"), parse.getMessage());
    }

    /** The largest |attr[i] − exact[i]| over positions, in float64. */
    private static double error(QuadratureRule rule, int steps) {
        Quadrature quadrature = rule.quadrature(steps);
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            // The same function for every rule and step count: a fixed seed.
            java.util.Random random = new java.util.Random(42);
            NDArray input = manager.create(uniform(random, -1, 1), SHAPE); // x: (1, L, H)
            NDArray baseline = manager.create(uniform(random, -1, 1), SHAPE); // b: (1, L, H)
            NDArray coefficients = manager.create(uniform(random, 0.5, 2), SHAPE); // c: (1, L, H)
            NDArray difference = input.sub(baseline);
            double[] attribution = new double[3];
            for (int k = 0; k < steps; k++) {
                NDArray alpha = manager.create(new double[] {quadrature.alphas()[k]}); // (1)
                NDArray point = IntegratedGradients.pathPoints(baseline, difference, alpha); // (1, L, H)
                NDArray gradient;
                try (GradientCollector collector = GradientTurns.open()) {
                    point.setRequiresGradient(true);
                    collector.backward(point.mul(point).mul(point).mul(coefficients).sum());
                    gradient = point.getGradient().duplicate();
                }
                NDArray weight = manager.create(new float[] {(float) quadrature.weights()[k]});
                double[] share = IntegratedGradients.weightedShares(gradient, difference, weight, DataType.FLOAT64)
                        .toType(DataType.FLOAT64, false).toDoubleArray(); // (L)
                for (int i = 0; i < 3; i++) {
                    attribution[i] += share[i];
                }
            }
            NDArray cubes = input.mul(input).mul(input).sub(baseline.mul(baseline).mul(baseline));
            double[] exact = cubes.mul(coefficients).sum(new int[] {2}).toDoubleArray(); // (1, L)
            double worst = 0;
            for (int i = 0; i < 3; i++) {
                worst = Math.max(worst, Math.abs(attribution[i] - exact[i]));
            }
            return worst;
        }
    }

    private static double[] uniform(java.util.Random random, double low, double high) {
        double[] values = new double[(int) SHAPE.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = low + (high - low) * random.nextDouble();
        }
        return values;
    }

    private static void assertArrayClose(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-12, "element " + i);
        }
    }
}
