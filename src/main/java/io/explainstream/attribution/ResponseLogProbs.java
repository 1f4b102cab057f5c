package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.explainstream.model.LlamaModel;

/**
 * The attribution targets of a batch's events, f_t(e) = log_softmax(logits(e)[P − 1 + t])[r_t],
 * for every row and every response token at once: one teacher-forced forward over prompt +
 * response. Causal masking makes f_t depend on positions up to P − 1 + t only, exactly the context
 * c_t = p + r[:t] of Captum's per-token runs.
 */
final class ResponseLogProbs implements IntegratedGradients.TargetFunction {

    private final LlamaModel model;
    private final EventBatch batch;

    ResponseLogProbs(LlamaModel model, EventBatch batch) {
        this.model = model;
        this.batch = batch;
    }

    @Override
    public int targetCount(int event) {
        return batch.events.get(event).responseLength();
    }

    /**
     * @param embeddings (N, L, H) the embedding-layer outputs of each row
     * @return (M) float32 (float64 for a float64 model)
     */
    @Override
    public NDArray evaluate(NDArray embeddings, int[] rowEvent) {
        NDManager chunk = embeddings.getManager();
        long n = embeddings.getShape().get(0);
        long l = embeddings.getShape().get(1);
        long h = embeddings.getShape().get(2);
        // Where the targets sit once the hidden states are flattened to (N·L, H), and their ids.
        int m = 0;
        for (int event : rowEvent) {
            m += targetCount(event);
        }
        long[] flatPosition = new long[m];
        long[] targetId = new long[m];
        int next = 0;
        for (int r = 0; r < rowEvent.length; r++) {
            PreparedEvent event = batch.events.get(rowEvent[r]);
            for (int t = 0; t < event.responseLength(); t++) {
                flatPosition[next] = r * l + event.targetPosition(t);
                targetId[next] = event.targets()[t];
                next++;
            }
        }
        NDArray mask = IntegratedGradients.rows(batch.attentionMask, IntegratedGradients.eventIndex(chunk, rowEvent)); // (N, L)
        NDArray hidden = model.hiddenStates(embeddings, mask).reshape(n * l, h); // (N·L, H)
        // The LM head only where a target is predicted: at a 32k vocabulary it dominates otherwise.
        NDArray atTargets = hidden.get(new NDIndex("{}", chunk.create(flatPosition))); // (M, H)
        NDArray logits = model.logits(atTargets); // (M, V)
        // Half-precision logits get a float32 log-softmax. Torch's own dtype argument does the
        // widening inside the operation, where autograd sees it (DJL's toType would cut the graph).
        NDArray logProbs = model.dtype().isHalf()
                ? JniUtils.logSoftmax((PtNDArray) logits, 1, DataType.FLOAT32)
                : logits.logSoftmax(1); // (M, V)
        NDArray targetIds = chunk.create(targetId, new Shape(m, 1)); // (M, 1)
        return logProbs.gather(targetIds, 1).reshape(m); // (M)
    }
}
