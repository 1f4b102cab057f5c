package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Integrated Gradients of targets f_t of the embeddings, as Captum's
 * {@code IntegratedGradients.attribute} computes it, for E events at once:
 *
 * <pre>
 *   e_k      = b + α_k · (x − b)                                 path points
 *   g_k      = ∂f/∂e at e_k                                      gradients
 *   attr[i]  = Σ_d (x − b)[i, d] · Σ_k w_k · g_k[i, d]          weights, sum, × (x − b)
 * </pre>
 *
 * with (α_k, w_k) from a {@link Quadrature}. Completeness: Σ_i attr[i] ≈ f(x) − f(b), which
 * {@link #endpoints} provides the two ends of.
 *
 * <ul>
 *   <li>{@link Mode#SEQUENCE}: f = Σ_t f_t, one backward pass per chunk; IG is linear in the target,
 *       so this is seq_attr = Σ_t token_attr[t].
 *   <li>{@link Mode#MATRIX}: f = f_t for each t, one backward pass per target over one forward
 *       (the graph kept in between): token_attr, one row per target.
 * </ul>
 *
 * A row is one (event, α_k, w_k); the rows of all events run in chunks of the memory budget
 * ({@link Chunking}), each chunk in its own sub-manager. Since (x − b) does not depend on k, each
 * row's w_k · g_k · (x − b) is summed over d in the tensor and the sum over k is the sum over rows,
 * in float64. What f is, is the caller's: the LLaMA model's response log-probabilities
 * ({@link ResponseLogProbs}), or a closed-form function in the tests. The gradient methods
 * ({@link #atInput}) are the integrand alone, at the input; {@link #integrand} is the integrand
 * alone at given points, unweighted, which adaptive steps ({@link AdaptiveSteps}) weigh with a
 * nested rule and keep across refinements.
 *
 * <p>DJL rules kept here: every operand in a differentiable path is a tensor, never a Number (DJL
 * frees a Number's temporary tensor while autograd still refers to it); each chunk's points are a
 * fresh leaf; a gradient is read before it is zeroed (the array getGradient returns shares its storage).
 *
 * <p>Per-target sums without the per-target passes would need a Jacobian-vector product; the
 * double-backward form of it leaks in libtorch (the leaf's gradient keeps a graph that refers back
 * to the leaf, and DJL cannot reset a gradient), so it is not used.
 */
final class IntegratedGradients {

    private IntegratedGradients() {}

    /** The targets f_t as functions of the embeddings. */
    interface TargetFunction {

        /** T_e: how many targets event e has. */
        int targetCount(int event);

        /**
         * f_t at each row's embeddings, differentiable with respect to them.
         *
         * @param embeddings (N, L, H) one point per row
         * @param rowEvent (N) the event of each row
         * @return (M) f_t of every row r in order and, within a row, of t = 0 … T_e − 1 in order
         *     (M = Σ_r T_rowEvent[r]); float32, or float64 for float64 embeddings
         */
        NDArray evaluate(NDArray embeddings, int[] rowEvent);
    }

    /** seq_attr alone, or the matrix of one row per target. */
    enum Mode {
        SEQUENCE,
        MATRIX
    }

    /**
     * The straight path of each event from b to x, in the compute dtype.
     *
     * @param inputs (E, L, H) x
     * @param baselines (E, L, H) b
     * @param differences (E, L, H) x − b: zero where b = x, so such positions score 0
     */
    record Path(NDArray inputs, NDArray baselines, NDArray differences) {

        static Path between(NDArray baselines, NDArray inputs) {
            return new Path(inputs, baselines, inputs.sub(baselines)); // (E, L, H)
        }

        int events() {
            return (int) inputs.getShape().get(0);
        }

        int length() {
            return (int) inputs.getShape().get(1);
        }
    }

    /**
     * f_t at both ends of each event's path, [e][t]: completeness says
     * Σ_i token_attr[t][i] ≈ input[e][t] − baseline[e][t].
     */
    record Endpoints(double[][] input, double[][] baseline) {}

    /** One event's attribution to each of its L positions (padding included, where it is 0). */
    sealed interface Scores {

        /** (L) seq_attr[i] = Σ_t token_attr[t][i]. */
        double[] seqAttr();

        /** Sequence mode: IG of Σ_t f_t. */
        record Sequence(double[] seqAttr) implements Scores {}

        /** Matrix mode: IG of each f_t. @param tokenAttr (T, L) */
        record Matrix(double[][] tokenAttr) implements Scores {

            @Override
            public double[] seqAttr() {
                double[] total = new double[tokenAttr[0].length];
                for (double[] row : tokenAttr) {
                    for (int i = 0; i < total.length; i++) {
                        total[i] += row[i];
                    }
                }
                return total;
            }

            /** (T) Σ_i token_attr[t][i], to compare with f_t(x) − f_t(b). */
            double[] targetSums() {
                double[] sums = new double[tokenAttr.length];
                for (int t = 0; t < sums.length; t++) {
                    for (double share : tokenAttr[t]) {
                        sums[t] += share;
                    }
                }
                return sums;
            }
        }
    }

    /**
     * Integrated Gradients of the targets of {@code events}, each with {@code quadrature}'s points.
     *
     * @param events indexes into the path's events
     * @return the scores of each of {@code events}, in that order
     */
    static List<Scores> attribute(Path path, TargetFunction f, int[] events, Quadrature quadrature, Mode mode, Chunking chunking) {
        DataType computeType = path.differences().getDataType();
        DataType accumulation = accumulationType(computeType);
        // One row per (event, k): the events' path points side by side along the batch dimension.
        int steps = quadrature.steps();
        int[] rowEvent = new int[events.length * steps];
        double[] rowAlpha = new double[rowEvent.length];
        double[] rowWeight = new double[rowEvent.length];
        for (int j = 0; j < events.length; j++) {
            for (int k = 0; k < steps; k++) {
                rowEvent[j * steps + k] = events[j];
                rowAlpha[j * steps + k] = quadrature.alphas()[k];
                rowWeight[j * steps + k] = quadrature.weights()[k];
            }
        }
        Sums sums = new Sums(f, events, mode, path.length());
        for (Chunking.Range range : chunking.split(rowEvent.length)) {
            chunking.checkCancelled();
            try (NDManager chunk = path.inputs().getManager().newSubManager()) {
                int[] chunkEvents = range.of(rowEvent);
                NDArray eventIndex = eventIndex(chunk, chunkEvents); // (N)
                NDArray alphas = chunk.create(toFloats(range.of(rowAlpha))).toType(computeType, false); // (N)
                NDArray stepWeights = chunk.create(toFloats(range.of(rowWeight))); // (N) float32
                NDArray differences = rows(path.differences(), eventIndex); // (N, L, H) x − b
                // path points: b + α_k · (x − b)
                NDArray points = pathPoints(rows(path.baselines(), eventIndex), differences, alphas); // (N, L, H)
                // gradients at them, × w_k, × (x − b), summed over d; Σ_k is the sum over the rows of each event
                gradientShares(points, f, chunkEvents, mode, EVERY_TARGET, (target, rowShares) -> sums.add(chunkEvents, target, rowShares),
                        gradients -> weightedShares(gradients, differences, stepWeights, accumulation));
            }
        }
        return sums.scores();
    }

    /**
     * The integrand alone, at given points, for adaptive steps to weigh with a rule of its own:
     * row r's g[i] = Σ_d (x − b)[i, d] · ∂f_o/∂e[i, d] at e = b + α_r · (x − b), unweighted and
     * unsummed, for the objectives {@code asked} names (Σ_t f_t in sequence mode, each asked f_t
     * in matrix mode; a target no row of a chunk asks for costs no backward pass there).
     *
     * @param rowEvent (N) the event of each row, indexes into the path's events
     * @param rowAlpha (N) each row's position on its event's path
     * @return [r][o] → (L) g of row r for objective o (the target, or 0 in sequence mode); null where not asked
     */
    static Integrand integrand(Path path, TargetFunction f, int[] rowEvent, double[] rowAlpha, Mode mode, TargetFilter asked, Chunking chunking) {
        DataType computeType = path.differences().getDataType();
        DataType accumulation = accumulationType(computeType);
        int length = path.length();
        double[][][] values = new double[rowEvent.length][][];
        for (int r = 0; r < rowEvent.length; r++) {
            values[r] = new double[mode == Mode.SEQUENCE ? 1 : f.targetCount(rowEvent[r])][];
        }
        int backwardPasses = 0;
        for (Chunking.Range range : chunking.split(rowEvent.length)) {
            chunking.checkCancelled();
            try (NDManager chunk = path.inputs().getManager().newSubManager()) {
                int[] chunkEvents = range.of(rowEvent);
                NDArray eventIndex = eventIndex(chunk, chunkEvents); // (N)
                NDArray alphas = chunk.create(toFloats(range.of(rowAlpha))).toType(computeType, false); // (N)
                NDArray unitWeights = chunk.ones(new Shape(chunkEvents.length)); // (N) float32: the rule weighs later
                NDArray differences = rows(path.differences(), eventIndex); // (N, L, H) x − b
                NDArray points = pathPoints(rows(path.baselines(), eventIndex), differences, alphas); // (N, L, H)
                int from = range.from();
                backwardPasses += gradientShares(points, f, chunkEvents, mode, asked, (target, rowShares) -> {
                    for (int r = 0; r < chunkEvents.length; r++) {
                        if (target < values[from + r].length && (mode == Mode.SEQUENCE || asked.test(chunkEvents[r], target))) {
                            values[from + r][target] = Arrays.copyOfRange(rowShares, r * length, (r + 1) * length);
                        }
                    }
                }, gradients -> weightedShares(gradients, differences, unitWeights, accumulation));
            }
        }
        return new Integrand(values, backwardPasses);
    }

    /** Which targets of which events a matrix-mode pass differentiates. */
    @FunctionalInterface
    interface TargetFilter {
        boolean test(int event, int target);
    }

    private static final TargetFilter EVERY_TARGET = (event, target) -> true;

    /**
     * The integrand at a set of rows, and what it cost.
     *
     * @param values [r][o] → (L), null where objective o was not asked for row r
     * @param backwardPasses backward passes run, over all chunks
     */
    record Integrand(double[][][] values, int backwardPasses) {}

    /**
     * The gradient methods: IG's integrand evaluated once, at the input itself (no path, no
     * weights): attr[i] = Σ_d multiplier[i, d] · ∂f/∂e[i, d] at e = x.
     *
     * @param inputs (E, L, H) x
     * @param multipliers (E, L, H) x for input × gradient, ones for the gradient; 0 where nothing
     *     is attributed
     */
    static List<Scores> atInput(NDArray inputs, NDArray multipliers, TargetFunction f, int[] events, Mode mode, Chunking chunking) {
        DataType accumulation = accumulationType(inputs.getDataType());
        Sums sums = new Sums(f, events, mode, (int) inputs.getShape().get(1));
        for (Chunking.Range range : chunking.split(events.length)) {
            chunking.checkCancelled();
            try (NDManager chunk = inputs.getManager().newSubManager()) {
                int[] chunkEvents = range.of(events);
                NDArray eventIndex = eventIndex(chunk, chunkEvents); // (N)
                NDArray rowMultipliers = rows(multipliers, eventIndex); // (N, L, H)
                NDArray points = rows(inputs, eventIndex); // (N, L, H) x, a fresh leaf
                gradientShares(points, f, chunkEvents, mode, EVERY_TARGET, (target, rowShares) -> sums.add(chunkEvents, target, rowShares),
                        gradients -> gradients.toType(accumulation, false).mul(rowMultipliers.toType(accumulation, false))
                                .sum(new int[] {2})); // (N, L)
            }
        }
        return sums.scores();
    }

    /** f_t at both ends of each event's path, without gradients. */
    static Endpoints endpoints(Path path, TargetFunction f, Chunking chunking) {
        double[][][] values = values(List.of(path.inputs(), path.baselines()), f, chunking);
        return new Endpoints(values[0], values[1]);
    }

    /**
     * f_t at fixed embeddings, without gradients. The rows of the tensors are evaluated as one
     * sequence of S·E rows (row r is event r mod E of tensor r / E), so that one forward pass can
     * cover both ends of a short event.
     *
     * @param perEvent S tensors (E, L, H)
     * @return [s][e][t]
     */
    static double[][][] values(List<NDArray> perEvent, TargetFunction f, Chunking chunking) {
        int events = (int) perEvent.get(0).getShape().get(0);
        double[][][] result = new double[perEvent.size()][events][];
        for (Chunking.Range range : chunking.split(perEvent.size() * events)) {
            chunking.checkCancelled();
            try (NDManager chunk = perEvent.get(0).getManager().newSubManager()) {
                int[] rowEvent = IntStream.range(range.from(), range.to()).map(r -> r % events).toArray();
                NDArray embeddings = stackedRows(chunk, perEvent, range, events); // (N, L, H)
                double[] values = f.evaluate(embeddings, rowEvent).toType(DataType.FLOAT64, false).toDoubleArray(); // (M)
                int m = 0;
                for (int r = range.from(); r < range.to(); r++) {
                    result[r / events][r % events] = Arrays.copyOfRange(values, m, m + f.targetCount(r % events));
                    m += f.targetCount(r % events);
                }
            }
        }
        return result;
    }

    /**
     * One forward of f at the chunk's points, then the backward pass of each objective (Σ_rows
     * Σ_t f_t in sequence mode; Σ_rows f_t for each asked t in matrix mode), each gradient turned
     * into per-row shares (N, L) by {@code shares} and handed to {@code sink}.
     *
     * @param points (N, L, H) a fresh tensor, made the leaf of this chunk's graph here
     * @param asked in matrix mode, which (event, target) pairs to differentiate; a row's entry for
     *     a target it does not ask for is 0
     * @return the backward passes run
     */
    private static int gradientShares(NDArray points, TargetFunction f, int[] rowEvent, Mode mode, TargetFilter asked, ShareSink sink,
            Shares shares) {
        try (GradientCollector collector = GradientTurns.open()) {
            points.setRequiresGradient(true);
            NDArray values = f.evaluate(points, rowEvent); // (M)
            if (mode == Mode.SEQUENCE) {
                backward(values.sum(), false); // () Σ_rows Σ_t f_t
                sink.add(0, shares.of(points.getGradient()).toType(DataType.FLOAT64, false).toDoubleArray()); // (N·L)
                return 1;
            }
            int[] targetOf = targetIndexes(f, rowEvent); // (M)
            int[] entryEvent = entryEvents(f, rowEvent); // (M)
            int longest = Arrays.stream(rowEvent).map(f::targetCount).max().orElse(0);
            int[] differentiated = IntStream.range(0, longest)
                    .filter(t -> IntStream.range(0, targetOf.length).anyMatch(m -> targetOf[m] == t && asked.test(entryEvent[m], t))).toArray();
            for (int p = 0; p < differentiated.length; p++) {
                int t = differentiated[p];
                NDArray objective = values.mul(points.getManager().create(selector(targetOf, entryEvent, t, asked))).sum(); // () Σ_rows f_t
                backward(objective, p < differentiated.length - 1);
                // The gradient shares storage with the one the next pass accumulates into: read it, then zero it.
                double[] rowShares = shares.of(points.getGradient()).toType(DataType.FLOAT64, false).toDoubleArray(); // (N·L)
                JniUtils.zeroGrad((PtNDArray) points);
                sink.add(t, rowShares);
            }
            return differentiated.length;
        }
    }

    /** Where a chunk's per-row shares (N·L) of one objective go. */
    private interface ShareSink {
        void add(int objective, double[] rowShares);
    }

    /** What turns the gradients at a chunk's points (N, L, H) into each row's share per position (N, L). */
    private interface Shares {
        NDArray of(NDArray gradients);
    }

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
     * w_k · Σ_d multiplier[i, d] · ∂f/∂e[i, d]. Not differentiable: it is what gets reported.
     *
     * @param gradients (N, L, H) ∂f/∂e at each row's path point
     * @param multipliers (N, L, H) x − b
     * @param stepWeights (N) quadrature weight of each row
     * @param accumulation the dtype of the products and the sum: {@link #accumulationType} of the
     *     compute dtype
     * @return (N, L)
     */
    static NDArray weightedShares(NDArray gradients, NDArray multipliers, NDArray stepWeights, DataType accumulation) {
        long n = stepWeights.getShape().get(0);
        NDArray weighted = gradients.toType(accumulation, false).mul(stepWeights.toType(accumulation, false).reshape(n, 1, 1)); // (N, L, H)
        return weighted.mul(multipliers.toType(accumulation, false)).sum(new int[] {2}); // (N, L)
    }

    /** The dtype shares accumulate in: float64 for a float64 model, else float32 (also for float16 and bfloat16). */
    static DataType accumulationType(DataType computeType) {
        return computeType == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    }

    /** The rows of a per-event tensor (E, …) for a chunk's events (N), owned by the chunk's manager. */
    static NDArray rows(NDArray perEvent, NDArray eventIndex) {
        NDArray selected = perEvent.get(new NDIndex("{}", eventIndex)); // (N, …)
        selected.attach(eventIndex.getManager());
        return selected;
    }

    /** @return (N) int64 */
    static NDArray eventIndex(NDManager chunk, int[] rowEvent) {
        return chunk.create(Arrays.stream(rowEvent).asLongStream().toArray());
    }

    /** (N, L, H): rows [from, to) of the tensors taken one after the other. */
    private static NDArray stackedRows(NDManager chunk, List<NDArray> perEvent, Chunking.Range range, int events) {
        List<NDArray> parts = new ArrayList<>(); // (rows of tensor s in the range, L, H) each
        for (int s = 0; s < perEvent.size(); s++) {
            int from = Math.max(range.from(), s * events);
            int to = Math.min(range.to(), (s + 1) * events);
            if (from < to) {
                NDArray index = chunk.arange(from - s * events, to - s * events).toType(DataType.INT64, false); // (to − from)
                parts.add(rows(perEvent.get(s), index));
            }
        }
        NDArray stacked = parts.get(0); // (N, L, H)
        for (int p = 1; p < parts.size(); p++) {
            stacked = stacked.concat(parts.get(p), 0);
        }
        return stacked;
    }

    /** (M) the target t of each entry of {@link TargetFunction#evaluate}'s result. */
    private static int[] targetIndexes(TargetFunction f, int[] rowEvent) {
        return Arrays.stream(rowEvent).flatMap(e -> IntStream.range(0, f.targetCount(e))).toArray();
    }

    /** (M) the event of each entry of {@link TargetFunction#evaluate}'s result. */
    private static int[] entryEvents(TargetFunction f, int[] rowEvent) {
        return Arrays.stream(rowEvent).flatMap(e -> IntStream.range(0, f.targetCount(e)).map(t -> e)).toArray();
    }

    /** (M) 1 where the entry is target t of an event that asks for it, else 0: selects f_t of those rows for one backward pass. */
    private static float[] selector(int[] targetOf, int[] entryEvent, int t, TargetFilter asked) {
        float[] selector = new float[targetOf.length];
        for (int m = 0; m < selector.length; m++) {
            selector[m] = targetOf[m] == t && asked.test(entryEvent[m], t) ? 1 : 0;
        }
        return selector;
    }

    private static void backward(NDArray objective, boolean keepGraph) {
        JniUtils.backward((PtNDArray) objective, (PtNDArray) objective.onesLike(), keepGraph, false);
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /**
     * Each event's running sums, in float64: [j][objective][i] for the j-th event of the call,
     * with one objective (Σ_t f_t) in sequence mode and T_e (each f_t) in matrix mode.
     */
    private static final class Sums {
        private final Mode mode;
        private final int length;
        private final int[] slotOfEvent;
        private final double[][][] sums;

        Sums(TargetFunction f, int[] events, Mode mode, int length) {
            this.mode = mode;
            this.length = length;
            this.slotOfEvent = new int[Arrays.stream(events).max().orElse(0) + 1];
            this.sums = new double[events.length][][];
            for (int j = 0; j < events.length; j++) {
                slotOfEvent[events[j]] = j;
                sums[j] = new double[mode == Mode.SEQUENCE ? 1 : f.targetCount(events[j])][length];
            }
        }

        /** Adds row r of {@code rowShares} (N·L) to objective o of its event, if the event has one. */
        void add(int[] rowEvent, int objective, double[] rowShares) {
            for (int r = 0; r < rowEvent.length; r++) {
                double[][] event = sums[slotOfEvent[rowEvent[r]]];
                if (objective < event.length) {
                    for (int i = 0; i < length; i++) {
                        event[objective][i] += rowShares[r * length + i];
                    }
                }
            }
        }

        List<Scores> scores() {
            List<Scores> scores = new ArrayList<>();
            for (double[][] event : sums) {
                scores.add(mode == Mode.SEQUENCE ? new Scores.Sequence(event[0]) : new Scores.Matrix(event));
            }
            return scores;
        }
    }
}
