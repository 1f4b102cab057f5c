package io.explainstream.attribution;

import static io.explainstream.testing.Approx.assertArrayClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.explainstream.attribution.IntegratedGradients.Endpoints;
import io.explainstream.attribution.IntegratedGradients.Mode;
import io.explainstream.attribution.IntegratedGradients.Path;
import io.explainstream.attribution.IntegratedGradients.Scores;
import io.explainstream.attribution.IntegratedGradients.TargetFunction;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Integrated Gradients on functions whose path integral is known in closed form, the way Captum's
 * own tests check it: f_t(e) = Σ_{i,d} W[t, i, d] · e[i, d]^p for p = 1 and 2. Along the straight
 * path the integral of each coordinate is the fundamental theorem of calculus, so
 *
 * <pre>
 *   linear     attr_t[i] = Σ_d W[t, i, d] · (x − b)[i, d]        for every quadrature rule
 *   quadratic  attr_t[i] = Σ_d W[t, i, d] · (x² − b²)[i, d]      for every rule exact on a linear integrand
 * </pre>
 *
 * and completeness Σ_i attr_t[i] = f_t(x) − f_t(b) holds exactly. Two events with 2 and 3 targets,
 * in float64; the quadrature's nodes and weights pass through float32 (as for the model), so "exactly"
 * means to about 1e-7.
 */
class IntegratedGradientsTest {

    private static final int EVENTS = 2;
    private static final int LENGTH = 3;
    private static final int HIDDEN = 4;
    private static final int[] TARGETS = {2, 3};
    private static final double EXACT = 1e-6;
    private static final Chunking ONE_PASS = new Chunking(1000, () -> false);

    private NDManager manager;
    private double[][][] x; // [e][i][d]
    private double[][][] b;
    private double[][][] w; // [t][i][d]
    private Path path;

    @BeforeEach
    void randomPath() {
        manager = NDManager.newBaseManager("PyTorch");
        Random random = new Random(7);
        x = ToyTensors.uniform(random, EVENTS, LENGTH, HIDDEN, -1, 1);
        b = ToyTensors.uniform(random, EVENTS, LENGTH, HIDDEN, -1, 1);
        w = ToyTensors.uniform(random, 3, LENGTH, HIDDEN, 0.5, 2);
        path = Path.between(tensor(b), tensor(x));
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void linearFunctionGetsWeightTimesDifferenceWithEveryRuleAndStepCount() {
        Polynomial linear = new Polynomial(tensor(w), 1);
        for (QuadratureRule rule : QuadratureRule.values()) {
            for (int steps : new int[] {2, 3, 16}) {
                List<Scores> scores = IntegratedGradients.attribute(path, linear, new int[] {0, 1}, rule.quadrature(steps), Mode.MATRIX, ONE_PASS);
                for (int e = 0; e < EVENTS; e++) {
                    for (int t = 0; t < TARGETS[e]; t++) {
                        double[] expected = new double[LENGTH];
                        for (int i = 0; i < LENGTH; i++) {
                            for (int d = 0; d < HIDDEN; d++) {
                                expected[i] += w[t][i][d] * (x[e][i][d] - b[e][i][d]);
                            }
                        }
                        assertArrayClose(rule + " " + steps + " steps, event " + e + " target " + t, expected,
                                ((Scores.Matrix) scores.get(e)).tokenAttr()[t], EXACT);
                    }
                }
            }
        }
    }

    @Test
    void quadraticFunctionIsExactWhereTheRuleIntegratesLinesExactly() {
        Polynomial quadratic = new Polynomial(tensor(w), 2);
        // The integrand α ↦ (x − b)·2W·(b + α(x − b)) is linear in α: Gauss–Legendre with any
        // number of points, the midpoint and the trapezoid rules integrate it exactly.
        for (int steps : new int[] {1, 2, 5, 50}) {
            assertMatrix("gausslegendre " + steps, quadratic, QuadratureRule.GAUSSLEGENDRE.quadrature(steps), 0, EXACT);
        }
        assertMatrix("riemann_middle 7", quadratic, QuadratureRule.RIEMANN_MIDDLE.quadrature(7), 0, EXACT);
        assertMatrix("riemann_trapezoid 7", quadratic, QuadratureRule.RIEMANN_TRAPEZOID.quadrature(7), 0, EXACT);
        // The left (right) sum misses half a step of its slope 2W(x − b)²: exactly ∓W(x − b)²/n.
        assertMatrix("riemann_left 8", quadratic, QuadratureRule.RIEMANN_LEFT.quadrature(8), -1 / 8.0, EXACT);
        assertMatrix("riemann_right 8", quadratic, QuadratureRule.RIEMANN_RIGHT.quadrature(8), 1 / 8.0, EXACT);
    }

    @Test
    void completenessHoldsAgainstTheEndpoints() {
        Polynomial quadratic = new Polynomial(tensor(w), 2);
        Endpoints endpoints = IntegratedGradients.endpoints(path, quadratic, new Chunking(3, () -> false)); // 4 rows: 2 passes
        List<Scores> matrix = IntegratedGradients.attribute(path, quadratic, new int[] {0, 1}, QuadratureRule.GAUSSLEGENDRE.quadrature(4),
                Mode.MATRIX, ONE_PASS);
        for (int e = 0; e < EVENTS; e++) {
            assertEquals(TARGETS[e], endpoints.input()[e].length);
            for (int t = 0; t < TARGETS[e]; t++) {
                assertEquals(f(t, x[e], 2), endpoints.input()[e][t], 1e-12, "f_t(x), event " + e + " target " + t);
                assertEquals(f(t, b[e], 2), endpoints.baseline()[e][t], 1e-12, "f_t(b), event " + e + " target " + t);
                double change = endpoints.input()[e][t] - endpoints.baseline()[e][t];
                assertEquals(change, ((Scores.Matrix) matrix.get(e)).targetSums()[t], EXACT, "Σ_i attr_t[i], event " + e + " target " + t);
            }
        }
    }

    @Test
    void sequenceModeIsTheSumOfTheMatrixRowsWhateverTheChunks() {
        Polynomial quadratic = new Polynomial(tensor(w), 2);
        Quadrature quadrature = QuadratureRule.GAUSSLEGENDRE.quadrature(5);
        List<Scores> matrix = IntegratedGradients.attribute(path, quadratic, new int[] {0, 1}, quadrature, Mode.MATRIX, ONE_PASS);
        for (int rowsPerChunk : new int[] {1, 3, 1000}) {
            Chunking chunking = new Chunking(rowsPerChunk, () -> false);
            List<Scores> sequence = IntegratedGradients.attribute(path, quadratic, new int[] {0, 1}, quadrature, Mode.SEQUENCE, chunking);
            List<Scores> chunkedMatrix = IntegratedGradients.attribute(path, quadratic, new int[] {0, 1}, quadrature, Mode.MATRIX, chunking);
            for (int e = 0; e < EVENTS; e++) {
                assertInstanceOf(Scores.Sequence.class, sequence.get(e));
                assertArrayClose(rowsPerChunk + " rows per chunk, event " + e, matrix.get(e).seqAttr(), sequence.get(e).seqAttr(), 1e-12);
                assertArrayClose(rowsPerChunk + " rows per chunk, event " + e + " matrix", matrix.get(e).seqAttr(), chunkedMatrix.get(e).seqAttr(), 1e-12);
            }
        }
        // One event alone: the same as in the batch of two.
        List<Scores> second = IntegratedGradients.attribute(path, quadratic, new int[] {1}, quadrature, Mode.MATRIX, ONE_PASS);
        assertArrayClose("event 1 alone", matrix.get(1).seqAttr(), second.get(0).seqAttr(), 1e-12);
    }

    @Test
    void gradientMethodsAreTheIntegrandAtTheInput() {
        Polynomial quadratic = new Polynomial(tensor(w), 2);
        NDArray inputs = path.inputs();
        List<Scores> gradient = IntegratedGradients.atInput(inputs, inputs.onesLike(), quadratic, new int[] {0, 1}, Mode.MATRIX, ONE_PASS);
        List<Scores> inputTimesGradient = IntegratedGradients.atInput(inputs, inputs, quadratic, new int[] {0, 1}, Mode.SEQUENCE, ONE_PASS);
        for (int e = 0; e < EVENTS; e++) {
            double[] expectedSequence = new double[LENGTH];
            for (int t = 0; t < TARGETS[e]; t++) {
                double[] expected = new double[LENGTH]; // Σ_d ∂f_t/∂e = Σ_d 2W·x
                for (int i = 0; i < LENGTH; i++) {
                    for (int d = 0; d < HIDDEN; d++) {
                        expected[i] += 2 * w[t][i][d] * x[e][i][d];
                        expectedSequence[i] += 2 * w[t][i][d] * x[e][i][d] * x[e][i][d];
                    }
                }
                assertArrayClose("gradient, event " + e + " target " + t, expected, ((Scores.Matrix) gradient.get(e)).tokenAttr()[t], 1e-12);
            }
            assertArrayClose("input × gradient, event " + e, expectedSequence, inputTimesGradient.get(e).seqAttr(), 1e-12);
        }
    }

    @Test
    void aCancelledCallStopsBeforeItsFirstForwardPass() {
        Polynomial linear = new Polynomial(tensor(w), 1);
        Chunking cancelled = new Chunking(1000, () -> true);
        assertThrows(AttributionCancelledException.class, () -> IntegratedGradients.attribute(path, linear, new int[] {0, 1},
                QuadratureRule.GAUSSLEGENDRE.quadrature(4), Mode.SEQUENCE, cancelled));
        assertThrows(AttributionCancelledException.class, () -> IntegratedGradients.endpoints(path, linear, cancelled));
    }

    /**
     * Checks token_attr of every event and target against the quadratic's exact attribution plus
     * {@code slopeError} · Σ_d W·(x − b)²: the rule's known error, 0 for the exact ones.
     */
    private void assertMatrix(String what, Polynomial quadratic, Quadrature quadrature, double slopeError, double tolerance) {
        List<Scores> scores = IntegratedGradients.attribute(path, quadratic, new int[] {0, 1}, quadrature, Mode.MATRIX, ONE_PASS);
        for (int e = 0; e < EVENTS; e++) {
            double[][] tokenAttr = ((Scores.Matrix) scores.get(e)).tokenAttr();
            assertEquals(TARGETS[e], tokenAttr.length, what + " rows of event " + e);
            for (int t = 0; t < TARGETS[e]; t++) {
                double[] expected = new double[LENGTH];
                for (int i = 0; i < LENGTH; i++) {
                    for (int d = 0; d < HIDDEN; d++) {
                        double difference = x[e][i][d] - b[e][i][d];
                        expected[i] += w[t][i][d] * (x[e][i][d] * x[e][i][d] - b[e][i][d] * b[e][i][d] + slopeError * difference * difference);
                    }
                }
                assertArrayClose(what + ", event " + e + " target " + t, expected, tokenAttr[t], tolerance);
            }
        }
    }

    /**
     * f_t(e) = Σ_{i,d} W[t, i, d] · e[i, d]^power for t < T_e: a target function of the
     * embeddings, as the model's response log-probabilities are.
     *
     * @param weights (T, L, H) W
     */
    private record Polynomial(NDArray weights, int power) implements TargetFunction {

        @Override
        public int targetCount(int event) {
            return TARGETS[event];
        }

        @Override
        public NDArray evaluate(NDArray embeddings, int[] rowEvent) {
            long n = embeddings.getShape().get(0);
            long t = weights.getShape().get(0);
            NDArray powers = power == 1 ? embeddings : embeddings.mul(embeddings); // (N, L, H)
            NDArray all = powers.expandDims(1).mul(weights.expandDims(0)).sum(new int[] {2, 3}).reshape(n * t); // (N·T)
            long[] kept = IntStream.range(0, rowEvent.length)
                    .flatMap(r -> IntStream.range(0, TARGETS[rowEvent[r]]).map(target -> (int) (r * t + target)))
                    .asLongStream().toArray();
            return all.get(new NDIndex("{}", embeddings.getManager().create(kept))); // (M)
        }
    }

    /** f_t(e) in Java. */
    private double f(int t, double[][] e, int power) {
        double value = 0;
        for (int i = 0; i < LENGTH; i++) {
            for (int d = 0; d < HIDDEN; d++) {
                value += w[t][i][d] * Math.pow(e[i][d], power);
            }
        }
        return value;
    }

    /** @return (count, L, H) float64 */
    private NDArray tensor(double[][][] values) {
        return ToyTensors.tensor(manager, values);
    }
}
