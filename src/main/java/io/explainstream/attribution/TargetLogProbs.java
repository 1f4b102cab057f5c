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
 * The attribution targets f_t(e) = log_softmax(logits(e)[P − 1 + t])[r_t], for every row and every
 * response token at once: one teacher-forced forward over prompt + response. Causal masking makes
 * f_t depend on positions up to P − 1 + t only, exactly the context c_t = p + r[:t] of Captum's
 * per-token runs.
 */
final class TargetLogProbs {

    private final LlamaModel model;

    TargetLogProbs(LlamaModel model) {
        this.model = model;
    }

    /**
     * @param embeddings (N, L, H) the embedding-layer outputs of each row
     * @param attentionMask (N, L) 1 at real tokens
     * @return (M) float32 (float64 for a float64 model), entry m as laid out by {@code targets}
     */
    NDArray evaluate(NDArray embeddings, NDArray attentionMask, ChunkTargets targets) {
        NDManager chunk = embeddings.getManager();
        long n = embeddings.getShape().get(0);
        long l = embeddings.getShape().get(1);
        long h = embeddings.getShape().get(2);
        NDArray hidden = model.hiddenStates(embeddings, attentionMask).reshape(n * l, h); // (N·L, H)
        // The LM head only where a target is predicted: at a 32k vocabulary it dominates otherwise.
        NDArray atTargets = hidden.get(new NDIndex("{}", chunk.create(targets.flatPosition()))); // (M, H)
        NDArray logits = model.logits(atTargets); // (M, V)
        // Half-precision logits get a float32 log-softmax. Torch's own dtype argument does the
        // widening inside the operation, where autograd sees it (DJL's toType would cut the graph).
        NDArray logProbs = model.dtype().isHalf()
                ? JniUtils.logSoftmax((PtNDArray) logits, 1, DataType.FLOAT32)
                : logits.logSoftmax(1); // (M, V)
        NDArray targetIds = chunk.create(targets.targetId(), new Shape(targets.size(), 1)); // (M, 1)
        return logProbs.gather(targetIds, 1).reshape(targets.size()); // (M)
    }
}
