package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.explainstream.attribution.IntegratedGradients.Endpoints;
import io.explainstream.attribution.IntegratedGradients.Mode;
import io.explainstream.attribution.IntegratedGradients.Path;
import io.explainstream.attribution.IntegratedGradients.Scores;
import io.explainstream.attribution.IntegratedGradients.TargetFunction;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Adaptive steps on targets whose trapezoid error is known in closed form. For
 * f_t(e) = Σ_{i,d} W[t, i, d] · e[i, d]^p along the straight path, the integrand of position i
 * is g_i(α) = Σ_d p·W·(b + α(x − b))^(p−1)·(x − b): constant for p = 1, linear for p = 2, where
 * the trapezoid is exact, and quadratic for p = 3, where Euler–Maclaurin ends after one term:
 *
 * <pre>
 *   trapezoid with h = 1/n:  attr_t[i] = Σ_d W·(x³ − b³) + h²/2 · Σ_d W·(x − b)³
 *   so                       delta_t   = −h²/2 · Σ_{i,d} W·(x − b)³
 * </pre>
 *
 * which says, for each target, at which level of the ladder n₀, 2n₀, 4n₀ … its delta first meets
 * the tolerance. Event 0 has a linear and a cubic target, event 1 a quadratic and two cubic ones.
 */
class AdaptiveStepsTest {

    private static final int LENGTH = 3;
    private static final int HIDDEN = 4;
    private static final int[][] POWERS = {{1, 3}, {2, 3, 3}};
    private static final Chunking ONE_PASS = new Chunking(100_000, () -> false);

    private NDManager manager;
    private double[][][] x; // [e][i][d]
    private double[][][] b;
    private double[][][][] w; // [e][t][i][d]
    private Path path;
    private Powers f;

    @BeforeEach
    void randomPath() {
        manager = NDManager.newBaseManager("PyTorch");
        Random random = new Random(11);
        x = ToyTensors.uniform(random, 2, LENGTH, HIDDEN, -1, 1);
        b = ToyTensors.uniform(random, 2, LENGTH, HIDDEN, -1, 1);
        w = new double[][][][] {ToyTensors.uniform(random, 2, LENGTH, HIDDEN, 0.5, 2), ToyTensors.uniform(random, 3, LENGTH, HIDDEN, 0.5, 2)};
        path = Path.between(tensor(b), tensor(x));
        f = new Powers(manager, w);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void matrixModeRefinesOnlyTheTargetsStillOverTheTolerance() {
        double tolerance = 2e-4;
        int first = 9; // 8 intervals: 8, 16, 32, … up to 1025 points
        int[][] levels = expectedIntervals(tolerance, 8, 1024);
        // The data must separate the targets, or this test could not tell refining some from refining all.
        assertEquals(8, levels[0][0], "the linear target converges at once");
        assertEquals(8, levels[1][0], "the quadratic target converges at once");
        assertTrue(IntStream.of(levels[0][1], levels[1][1], levels[1][2]).distinct().count() >= 2 && levels[0][1] > 8 && levels[1][1] > 8,
                "the cubic targets need more, and not all the same: " + java.util.Arrays.deepToString(levels));

        AdaptiveSteps.Result result = AdaptiveSteps.integrate(path, f, endpoints(), new AdaptiveSteps.Plan(NestedRule.TRAPEZOID, first, 1025, tolerance),
                Mode.MATRIX, ONE_PASS);

        for (int e = 0; e < 2; e++) {
            int finest = IntStream.of(levels[e]).max().getAsInt();
            assertEquals(finest + 1, result.steps()[e], "points of event " + e);
            double[][] tokenAttr = ((Scores.Matrix) result.scores().get(e)).tokenAttr();
            for (int t = 0; t < POWERS[e].length; t++) {
                assertArrayEquals(exact(e, t, levels[e][t]), tokenAttr[t], 1e-6, "event " + e + " target " + t + " at " + levels[e][t] + " intervals");
            }
        }
        // What it cost: each event's points once; per level one backward pass per target some event still refines (one chunk
        // per level), and a refinement for each (event, target) still open after the first level.
        int points = 0;
        int backward = 0;
        int refinements = 0;
        for (int n = 8; n <= 1024; n *= 2) {
            int level = n;
            boolean[] differentiated = new boolean[3];
            for (int e = 0; e < 2; e++) {
                int finest = IntStream.of(levels[e]).max().getAsInt();
                if (level <= finest) {
                    points += level == 8 ? 9 : level / 2;
                }
                for (int t = 0; t < POWERS[e].length; t++) {
                    if (level <= levels[e][t]) {
                        differentiated[t] = true;
                        refinements += level > 8 ? 1 : 0;
                    }
                }
            }
            for (boolean d : differentiated) {
                backward += d ? 1 : 0;
            }
        }
        assertEquals(new AdaptiveSteps.Work(points, backward, refinements), result.work());
        // Refining every target of an event at every level, as doubling did, would have cost more refinements.
        int everyTarget = 0;
        for (int e = 0; e < 2; e++) {
            int finest = IntStream.of(levels[e]).max().getAsInt();
            everyTarget += POWERS[e].length * Integer.numberOfTrailingZeros(finest / 8);
        }
        assertTrue(refinements < everyTarget, refinements + " refinements, against " + everyTarget + " for every target");
    }

    @Test
    void reusedGradientsGiveTheNumbersOfAFromScratchRunAtTheFinalPoints() {
        double tolerance = 1e-5;
        AdaptiveSteps.Result adaptive = AdaptiveSteps.integrate(path, f, endpoints(), new AdaptiveSteps.Plan(NestedRule.TRAPEZOID, 5, 10_000, tolerance),
                Mode.SEQUENCE, ONE_PASS);
        for (int e = 0; e < 2; e++) {
            int points = adaptive.steps()[e];
            assertTrue(points > 5 * 2, "event " + e + " refined more than once: " + points + " points");
            List<Scores> scratch = IntegratedGradients.attribute(path, f, new int[] {e}, QuadratureRule.RIEMANN_TRAPEZOID.quadrature(points), Mode.SEQUENCE,
                    new Chunking(7, () -> false));
            assertArrayEquals(scratch.get(0).seqAttr(), adaptive.scores().get(e).seqAttr(), 1e-6, "event " + e + " at " + points + " points");
            double change = 0;
            for (int t = 0; t < POWERS[e].length; t++) {
                change += endpoints().input()[e][t] - endpoints().baseline()[e][t];
            }
            double delta = change - java.util.Arrays.stream(adaptive.scores().get(e).seqAttr()).sum();
            assertTrue(AdaptiveSteps.withinTolerance(tolerance, change, delta), "event " + e + " sequence delta " + delta + " of " + change);
        }
    }

    @Test
    void clenshawCurtisAndTrapezoidAgreeWithTheExactIntegralToTheTolerance() {
        double tolerance = 1e-3;
        for (NestedRule rule : NestedRule.values()) {
            AdaptiveSteps.Result result = AdaptiveSteps.integrate(path, f, endpoints(), new AdaptiveSteps.Plan(rule, 3, 10_000, tolerance), Mode.MATRIX,
                    ONE_PASS);
            for (int e = 0; e < 2; e++) {
                double[][] tokenAttr = ((Scores.Matrix) result.scores().get(e)).tokenAttr();
                for (int t = 0; t < POWERS[e].length; t++) {
                    double[] exact = exact(e, t, Integer.MAX_VALUE);
                    double change = IntStream.range(0, LENGTH).mapToDouble(i -> exact[i]).sum();
                    for (int i = 0; i < LENGTH; i++) {
                        assertEquals(exact[i], tokenAttr[t][i], tolerance * Math.max(Math.abs(change), AdaptiveSteps.ABSOLUTE_DELTA_FLOOR),
                                rule + " event " + e + " target " + t + " position " + i);
                    }
                }
            }
        }
    }

    @Test
    void theCapStopsRefiningWithTheDeltaLeftAsItIs() {
        AdaptiveSteps.Result capped = AdaptiveSteps.integrate(path, f, endpoints(), new AdaptiveSteps.Plan(NestedRule.TRAPEZOID, 9, 40, 1e-12),
                Mode.MATRIX, ONE_PASS);
        assertArrayEquals(new int[] {33, 33}, capped.steps(), "8, 16, 32 intervals; 64 would pass the cap of 40 points");
        assertArrayEquals(exact(0, 1, 32), ((Scores.Matrix) capped.scores().get(0)).tokenAttr()[1], 1e-6);
    }

    /**
     * A NaN delta (the model overflowed at x or on the path, inf − inf) is never within the
     * tolerance and more points do not make it a number: the target closes at once instead of
     * refining to the cap (8,193 points here before the fix) before its event is refused.
     */
    @Test
    void aTargetWhoseDeltaIsNotFiniteIsNotRefined() {
        Endpoints overflowed = endpoints();
        overflowed.input()[1][2] = Double.NaN; // event 1, its third target: f(x) overflowed (inf − inf)
        // A tolerance the finite targets meet within a few levels: at 1e-9 and a cap of 10,000 they refined for 13 s.
        AdaptiveSteps.Result result = AdaptiveSteps.integrate(path, f, overflowed, new AdaptiveSteps.Plan(NestedRule.TRAPEZOID, 9, 1_000, 1e-4),
                Mode.MATRIX, ONE_PASS);
        assertEquals(9, result.targetSteps()[1][2], "the overflowed target keeps the first level");
        assertTrue(result.targetSteps()[1][1] > 9, "a finite target of the same event refines: " + java.util.Arrays.toString(result.targetSteps()[1]));
        AdaptiveSteps.Result sequence = AdaptiveSteps.integrate(path, f, overflowed, new AdaptiveSteps.Plan(NestedRule.TRAPEZOID, 9, 1_000, 1e-4),
                Mode.SEQUENCE, ONE_PASS);
        assertEquals(9, sequence.steps()[1], "the sequence's delta is not finite either");
        assertTrue(sequence.steps()[0] > 9, "the other event refines: " + java.util.Arrays.toString(sequence.steps()));
    }

    /** [e][t] the intervals at which each target first meets the tolerance, from the closed-form delta. */
    private int[][] expectedIntervals(double tolerance, int first, int cap) {
        int[][] levels = new int[2][];
        for (int e = 0; e < 2; e++) {
            levels[e] = new int[POWERS[e].length];
            for (int t = 0; t < POWERS[e].length; t++) {
                double[] exact = exact(e, t, Integer.MAX_VALUE);
                double change = IntStream.range(0, LENGTH).mapToDouble(i -> exact[i]).sum();
                int n = first;
                while (n < cap) {
                    double[] trapezoid = exact(e, t, n);
                    double delta = change - IntStream.range(0, LENGTH).mapToDouble(i -> trapezoid[i]).sum();
                    if (AdaptiveSteps.withinTolerance(tolerance, change, delta)) {
                        break;
                    }
                    n *= 2;
                }
                levels[e][t] = n;
            }
        }
        return levels;
    }

    /** (L) the trapezoid's attribution with n intervals (Integer.MAX_VALUE: the exact integral), in closed form. */
    private double[] exact(int e, int t, int n) {
        double h = n == Integer.MAX_VALUE ? 0 : 1.0 / n;
        int p = POWERS[e][t];
        double[] attr = new double[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            for (int d = 0; d < HIDDEN; d++) {
                double difference = x[e][i][d] - b[e][i][d];
                attr[i] += w[e][t][i][d] * (Math.pow(x[e][i][d], p) - Math.pow(b[e][i][d], p));
                if (p == 3) {
                    attr[i] += h * h / 2 * w[e][t][i][d] * difference * difference * difference;
                }
            }
        }
        return attr;
    }

    private Endpoints endpoints() {
        return IntegratedGradients.endpoints(path, f, ONE_PASS);
    }

    /**
     * f_t(e) = Σ_{i,d} W[e][t] · e^POWERS[e][t] for the row's event e.
     *
     * @param weights per event, (T_e, L, H)
     */
    private record Powers(List<NDArray> weights) implements TargetFunction {

        Powers(NDManager manager, double[][][][] w) {
            this(IntStream.range(0, w.length).mapToObj(e -> ToyTensors.tensor(manager, w[e])).toList());
        }

        @Override
        public int targetCount(int event) {
            return POWERS[event].length;
        }

        @Override
        public NDArray evaluate(NDArray embeddings, int[] rowEvent) {
            List<NDArray> values = new ArrayList<>();
            for (int r = 0; r < rowEvent.length; r++) {
                NDArray row = embeddings.get(new NDIndex("{}:{}", r, r + 1)); // (1, L, H)
                for (int t = 0; t < POWERS[rowEvent[r]].length; t++) {
                    NDArray powered = row;
                    for (int k = 1; k < POWERS[rowEvent[r]][t]; k++) {
                        powered = powered.mul(row); // tensor operands only: DJL frees a Number's temporary tensor
                    }
                    values.add(powered.mul(weights.get(rowEvent[r]).get(t).expandDims(0)).sum().reshape(1)); // (1)
                }
            }
            return NDArrays.concat(values); // (M)
        }
    }

    /** Concatenation without ai.djl.ndarray.NDArrays' NDList, for a list of (1) arrays. */
    private static final class NDArrays {
        static NDArray concat(List<NDArray> parts) {
            NDArray all = parts.get(0);
            for (int p = 1; p < parts.size(); p++) {
                all = all.concat(parts.get(p), 0);
            }
            return all;
        }
    }

    /** @return (count, L, H) float64 */
    private NDArray tensor(double[][][] values) {
        return ToyTensors.tensor(manager, values);
    }
}
