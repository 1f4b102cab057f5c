package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The nested rules' points and weights, against what they must be in closed form. */
class NestedRuleTest {

    @Test
    void pointsNestExactlySoThatGradientsCanBeReused() {
        for (NestedRule rule : NestedRule.values()) {
            for (int n : new int[] {1, 7, 49, 98, 392}) {
                Quadrature coarse = rule.withIntervals(n);
                Quadrature fine = rule.withIntervals(2 * n);
                for (int j = 0; j <= n; j++) {
                    // the same double, not merely close: the adaptive path keys gradients by it
                    assertEquals(coarse.alphas()[j], fine.alphas()[2 * j], 0.0, rule + " point " + j + " of " + n);
                }
                assertEquals(0.0, coarse.alphas()[0], 0.0, rule + " starts at the baseline");
                assertEquals(1.0, coarse.alphas()[n], 0.0, rule + " ends at the input");
                assertEquals(1.0, Arrays.stream(coarse.weights()).sum(), 1e-13, rule + " weights of " + n);
            }
        }
    }

    @Test
    void trapezoidIsTheFixedStepsTrapezoidWithOneMorePoint() {
        for (int n : new int[] {1, 16, 49, 196}) {
            Quadrature nested = NestedRule.TRAPEZOID.withIntervals(n);
            Quadrature fixed = QuadratureRule.RIEMANN_TRAPEZOID.quadrature(n + 1);
            assertArrayEquals(fixed.alphas(), nested.alphas(), 1e-15, "points of " + n);
            assertArrayEquals(fixed.weights(), nested.weights(), 1e-15, "weights of " + n);
        }
    }

    /** What a fixed-steps clenshaw_curtis run uses, and an adaptive explanation reports, are the nested rule's points and weights. */
    @Test
    void clenshawCurtisIsTheFixedStepsRuleWithOneMorePoint() {
        for (int n : new int[] {1, 16, 49, 196}) {
            Quadrature nested = NestedRule.CLENSHAW_CURTIS.withIntervals(n);
            Quadrature fixed = QuadratureRule.CLENSHAW_CURTIS.quadrature(n + 1);
            assertArrayEquals(nested.alphas(), fixed.alphas(), 0.0, "points of " + n);
            assertArrayEquals(nested.weights(), fixed.weights(), 0.0, "weights of " + n);
        }
        assertEquals(QuadratureRule.CLENSHAW_CURTIS, NestedRule.CLENSHAW_CURTIS.reportedAs());
        assertEquals(QuadratureRule.RIEMANN_TRAPEZOID, NestedRule.TRAPEZOID.reportedAs());
        IllegalArgumentException onePoint = assertThrows(IllegalArgumentException.class, () -> QuadratureRule.CLENSHAW_CURTIS.quadrature(1));
        assertEquals("steps = 1 is too few for clenshaw_curtis (at least 2)", onePoint.getMessage());
    }

    @Test
    void clenshawCurtisIsExactForPolynomialsThroughItsPoints() {
        // n + 1 points integrate degree n exactly (degree n + 1 too for even n, by symmetry): ∫₀¹ α^k dα = 1/(k+1).
        for (int n : new int[] {4, 8, 16}) {
            Quadrature rule = NestedRule.CLENSHAW_CURTIS.withIntervals(n);
            for (int k = 0; k <= n + 1; k++) {
                double sum = 0;
                for (int j = 0; j <= n; j++) {
                    sum += rule.weights()[j] * Math.pow(rule.alphas()[j], k);
                }
                assertEquals(1.0 / (k + 1), sum, 1e-14, "α^" + k + " with " + n + " intervals");
            }
            // and not degree n + 2: the rule is Clenshaw–Curtis, not Gauss
            double sum = 0;
            for (int j = 0; j <= n; j++) {
                sum += rule.weights()[j] * Math.pow(rule.alphas()[j], n + 2);
            }
            double error = Math.abs(sum - 1.0 / (n + 3));
            assertTrue(error > 1e-15, "α^" + (n + 2) + " with " + n + " intervals is not exact: error " + error);
        }
    }

    @Test
    void trapezoidErrorIsEulerMaclaurinsOnACubic() {
        // ∫₀¹ α³ = 1/4; the trapezoid with h = 1/n overshoots by h²/12 · (g'(1) − g'(0)) = h²/4 exactly (the series ends).
        for (int n : new int[] {1, 4, 50}) {
            Quadrature rule = NestedRule.TRAPEZOID.withIntervals(n);
            double sum = 0;
            for (int j = 0; j <= n; j++) {
                sum += rule.weights()[j] * Math.pow(rule.alphas()[j], 3);
            }
            assertEquals(0.25 + 0.25 / ((double) n * n), sum, 1e-15, n + " intervals");
        }
    }

    @Test
    void adaptiveStepsRefuseRulesThatDoNotNest() {
        assertEquals(NestedRule.CLENSHAW_CURTIS, NestedRule.refining(QuadratureRule.GAUSSLEGENDRE), "its nested counterpart");
        assertEquals(NestedRule.TRAPEZOID, NestedRule.refining(QuadratureRule.RIEMANN_TRAPEZOID));
        assertEquals(NestedRule.CLENSHAW_CURTIS, NestedRule.refining(QuadratureRule.CLENSHAW_CURTIS));
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> AttributionSettings.DEFAULTS.withIntegration(QuadratureRule.RIEMANN_MIDDLE).withTargetDelta(0.01));
        assertEquals("target-delta refines a rule whose points nest: integration = gausslegendre or clenshaw_curtis (refined as Clenshaw–Curtis) or riemann_trapezoid; "
                + "integration = riemann_middle has points that do not nest under doubling", refused.getMessage());
        // without a target delta, every rule keeps its fixed steps
        assertEquals(QuadratureRule.RIEMANN_MIDDLE, AttributionSettings.DEFAULTS.withIntegration(QuadratureRule.RIEMANN_MIDDLE).integration());
        IllegalArgumentException oneStep = assertThrows(IllegalArgumentException.class,
                () -> AttributionSettings.DEFAULTS.withSteps(1).withTargetDelta(0.01));
        assertEquals("steps = 1 is too few for target-delta: adaptive steps start from clenshaw_curtis with at least 2 points", oneStep.getMessage());
    }
}
