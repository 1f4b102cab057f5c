package io.explainstream.attribution;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.explainstream.model.LlamaModel;
import java.util.Arrays;
import java.util.List;

/**
 * Runs the path points of a batch through the model in chunks that fit the memory budget and adds
 * up each event's attribution. A chunk is N rows; a row is one (event, α, w): its path point is a
 * fresh leaf tensor, one teacher-forced forward gives every target of the row, and the backward
 * passes share that forward.
 *
 * <ul>
 *   <li>Sequence mode: one backward of Σ_rows Σ_t f_t gives seq_attr, since IG is linear in the
 *       target. Its completeness check is the sequence delta.
 *   <li>Matrix mode: one backward per response position t, of Σ_rows f_t, keeping the graph in
 *       between; the gradient is read and zeroed after each. Rows of the matrix have their own
 *       deltas.
 * </ul>
 *
 * Per-target sums without the per-target passes would need a Jacobian-vector product; the
 * double-backward form of it leaks in libtorch (the leaf's gradient keeps a graph that refers back
 * to the leaf, and DJL cannot reset a gradient), so it is not used.
 *
 * Everything a chunk allocates lives in its own sub-manager, closed when the chunk ends.
 */
final class PathIntegrator {

    /** The accumulated attribution of each event of a batch. */
    static final class Shares {
        /** [e][t][i] token_attr, or null in sequence mode. */
        final double[][][] perTarget;
        /** [e][i] seq_attr = Σ_t token_attr[t][i]. */
        final double[][] total;
        /** [e][t] Σ_i token_attr[t][i], in matrix mode; null otherwise. */
        final double[][] targetSums;

        Shares(List<PreparedEvent> events, int length, boolean matrix) {
            int e = events.size();
            perTarget = matrix ? new double[e][][] : null;
            total = new double[e][length];
            targetSums = matrix ? new double[e][] : null;
            for (int i = 0; matrix && i < e; i++) {
                targetSums[i] = new double[events.get(i).responseLength()];
                perTarget[i] = new double[events.get(i).responseLength()][length];
            }
        }
    }

    private final LlamaModel model;
    private final TargetLogProbs targetLogProbs;
    private final DataType accumulation;
    private final java.util.function.BooleanSupplier cancelled;

    /** @param cancelled checked before each forward pass; true stops the call with {@link AttributionCancelledException} */
    PathIntegrator(LlamaModel model, java.util.function.BooleanSupplier cancelled) {
        this.model = model;
        this.cancelled = cancelled;
        this.targetLogProbs = new TargetLogProbs(model);
        this.accumulation = IntegratedGradients.accumulationType(model.dtype().dataType());
    }

    /**
     * Integrates the rows' gradients into per-event shares.
     *
     * @param rowEvent (R) the event of each row
     * @param alphas (R) each row's α
     * @param weights (R) each row's quadrature weight
     */
    Shares integrate(EventBatch batch, int[] rowEvent, double[] alphas, double[] weights, boolean matrix, int rowsPerChunk) {
        Shares shares = new Shares(batch.events, batch.length, matrix);
        NDManager batchManager = batch.inputs.getManager();
        for (int from = 0; from < rowEvent.length; from += rowsPerChunk) {
            checkCancelled();
            int to = Math.min(rowEvent.length, from + rowsPerChunk);
            try (NDManager chunk = batchManager.newSubManager()) {
                int[] chunkEvents = Arrays.copyOfRange(rowEvent, from, to);
                NDArray eventIndex = chunk.create(Arrays.stream(chunkEvents).asLongStream().toArray()); // (N)
                NDArray alphaRows = chunk.create(toFloats(alphas, from, to)).toType(model.dtype().dataType(), false); // (N)
                NDArray weightRows = chunk.create(toFloats(weights, from, to)); // (N)
                NDArray points = IntegratedGradients.pathPoints(
                        EventBatch.rows(batch.baselines, eventIndex), EventBatch.rows(batch.differences, eventIndex), alphaRows); // (N, L, H)
                NDArray multipliers = EventBatch.rows(batch.multipliers, eventIndex); // (N, L, H)
                NDArray mask = EventBatch.rows(batch.attentionMask, eventIndex); // (N, L)
                ChunkTargets targets = ChunkTargets.of(batch.events, chunkEvents, batch.length);
                try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                    points.setRequiresGradient(true);
                    NDArray logProbs = targetLogProbs.evaluate(points, mask, targets); // (M)
                    if (matrix) {
                        perTargetPasses(shares, chunkEvents, batch, points, multipliers, weightRows, logProbs, targets);
                    } else {
                        sequencePass(shares, chunkEvents, batch, points, multipliers, weightRows, logProbs);
                    }
                }
            }
        }
        if (matrix) {
            for (int e = 0; e < shares.perTarget.length; e++) {
                for (int t = 0; t < shares.perTarget[e].length; t++) {
                    for (int i = 0; i < batch.length; i++) {
                        shares.total[e][i] += shares.perTarget[e][t][i];
                        shares.targetSums[e][t] += shares.perTarget[e][t][i];
                    }
                }
            }
        }
        return shares;
    }

    private void perTargetPasses(Shares shares, int[] chunkEvents, EventBatch batch, NDArray points, NDArray multipliers,
            NDArray weightRows, NDArray logProbs, ChunkTargets targets) {
        NDManager chunk = points.getManager();
        int longest = Arrays.stream(chunkEvents).map(e -> batch.events.get(e).responseLength()).max().orElse(0);
        for (int t = 0; t < longest; t++) {
            NDArray objective = logProbs.mul(chunk.create(targets.selector(t))).sum(); // Σ_rows f_t
            backward(objective, t < longest - 1);
            double[] rowShares = IntegratedGradients.weightedShares(points.getGradient(), multipliers, weightRows, accumulation)
                    .toType(DataType.FLOAT64, false).toDoubleArray(); // (N·L)
            JniUtils.zeroGrad((PtNDArray) points);
            for (int r = 0; r < chunkEvents.length; r++) {
                int e = chunkEvents[r];
                if (t < batch.events.get(e).responseLength()) {
                    addRow(shares.perTarget[e][t], rowShares, r, batch.length);
                }
            }
        }
    }

    private void sequencePass(Shares shares, int[] chunkEvents, EventBatch batch, NDArray points, NDArray multipliers,
            NDArray weightRows, NDArray logProbs) {
        backward(logProbs.sum(), false); // Σ_rows Σ_t f_t
        double[] values = IntegratedGradients.weightedShares(points.getGradient(), multipliers, weightRows, accumulation)
                .toType(DataType.FLOAT64, false).toDoubleArray(); // (N·L)
        for (int r = 0; r < chunkEvents.length; r++) {
            addRow(shares.total[chunkEvents[r]], values, r, batch.length);
        }
    }

    /**
     * f_t at fixed embeddings (no gradients): the log-probabilities of the responses at the
     * input and, for integrated gradients, at the baseline, in one pass over both sets of rows.
     *
     * @param withBaselines also evaluate at the baselines
     * @return [0][e][t] at the inputs; [1][e][t] at the baselines when asked
     */
    double[][][] endpoints(EventBatch batch, boolean withBaselines, int rowsPerChunk) {
        int events = batch.events.size();
        int rows = withBaselines ? 2 * events : events;
        double[][][] result = new double[withBaselines ? 2 : 1][events][];
        for (int from = 0; from < rows; from += rowsPerChunk) {
            checkCancelled();
            int to = Math.min(rows, from + rowsPerChunk);
            try (NDManager chunk = batch.inputs.getManager().newSubManager()) {
                // Row r is event r mod E, at the input for r < E and at the baseline after.
                int[] rowEvent = java.util.stream.IntStream.range(from, to).map(r -> r % events).toArray();
                NDArray eventIndex = chunk.create(Arrays.stream(rowEvent).asLongStream().toArray()); // (N)
                NDArray embeddings = endpointRows(batch, from, to, events, eventIndex); // (N, L, H)
                ChunkTargets targets = ChunkTargets.of(batch.events, rowEvent, batch.length);
                double[] values = targetLogProbs.evaluate(embeddings, EventBatch.rows(batch.attentionMask, eventIndex), targets)
                        .toType(DataType.FLOAT64, false).toDoubleArray(); // (M)
                for (int r = from; r < to; r++) {
                    result[r / events][r % events] = new double[batch.events.get(r % events).responseLength()];
                }
                for (int m = 0; m < values.length; m++) {
                    int row = from + targets.row()[m];
                    result[row / events][row % events][targets.targetIndex()[m]] = values[m];
                }
            }
        }
        return result;
    }

    /** (N, L, H): input rows, then baseline rows, of the chunk [from, to). */
    private void checkCancelled() {
        if (cancelled.getAsBoolean()) {
            throw new AttributionCancelledException();
        }
    }

    private static NDArray endpointRows(EventBatch batch, int from, int to, int events, NDArray eventIndex) {
        if (to <= events) {
            return EventBatch.rows(batch.inputs, eventIndex);
        }
        if (from >= events) {
            return EventBatch.rows(batch.baselines, eventIndex);
        }
        NDManager chunk = eventIndex.getManager();
        NDArray inputs = EventBatch.rows(batch.inputs, chunk.arange(from, events).toType(DataType.INT64, false));
        NDArray baselines = EventBatch.rows(batch.baselines, chunk.arange(0, to - events).toType(DataType.INT64, false));
        return inputs.concat(baselines, 0);
    }

    private static void backward(NDArray objective, boolean keepGraph) {
        JniUtils.backward((PtNDArray) objective, (PtNDArray) objective.onesLike(), keepGraph, false);
    }

    private static void addRow(double[] target, double[] rows, int row, int length) {
        for (int i = 0; i < length; i++) {
            target[i] += rows[row * length + i];
        }
    }

    private static float[] toFloats(double[] values, int from, int to) {
        float[] out = new float[to - from];
        for (int i = from; i < to; i++) {
            out[i - from] = (float) values[i];
        }
        return out;
    }
}
