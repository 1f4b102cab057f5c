package io.explainstream.bench;

import io.explainstream.model.LlamaConfig;

/**
 * Counted floating-point operations of the model's passes (a multiply-add is 2), from the shapes:
 * the projections, the attention products and the LM head at the target positions. The backward
 * pass computes gradients of activations only (weights need none): one matrix product per
 * projection, two per attention product.
 */
public final class FlopCount {

    private FlopCount() {}

    /** Forward FLOPs of {@code rows} sequences of {@code length} tokens with {@code targets} LM-head rows in all. */
    public static double forward(LlamaConfig c, long rows, long length, long targets) {
        return linear(c, rows * length) + attention(c, rows, length) + head(c, targets);
    }

    /** Backward FLOPs of one pass back to the input embeddings. */
    public static double backward(LlamaConfig c, long rows, long length, long targets) {
        return linear(c, rows * length) + 2 * attention(c, rows, length) + head(c, targets);
    }

    private static double linear(LlamaConfig c, long tokens) {
        double h = c.hiddenSize();
        double q = (double) c.numHeads() * c.headDim();
        double kv = (double) c.numKeyValueHeads() * c.headDim();
        double perTokenPerLayer = 2 * h * (q + 2 * kv) + 2 * q * h + 3 * 2 * h * c.intermediateSize();
        return tokens * perTokenPerLayer * c.numLayers();
    }

    private static double attention(LlamaConfig c, long rows, long length) {
        // Q·Kᵀ and P·V, each 2·S·S·D per head (the causal half is computed and masked)
        return rows * c.numLayers() * c.numHeads() * 4.0 * length * length * c.headDim();
    }

    private static double head(LlamaConfig c, long targets) {
        return 2.0 * targets * c.hiddenSize() * c.vocabSize();
    }
}
