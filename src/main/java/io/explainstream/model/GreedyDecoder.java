package io.explainstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * Argmax decoding, re-running the whole context each step (no KV cache). It exists to check a
 * checkpoint end to end against known continuations, not to serve traffic.
 */
public final class GreedyDecoder {

    private final LlamaModel model;

    public GreedyDecoder(LlamaModel model) {
        this.model = model;
    }

    /** Returns the prompt ids followed by {@code newTokens} greedily chosen ids. */
    public long[] generate(long[] promptIds, int newTokens) {
        return generate(promptIds, newTokens, java.util.Set.of());
    }

    /**
     * Returns the prompt ids followed by at most {@code maxNewTokens} greedily chosen ids, the last
     * of them the first one in {@code stopIds} where the model chose one (it ends its sequence).
     */
    public long[] generate(long[] promptIds, int maxNewTokens, java.util.Set<Long> stopIds) {
        long[] ids = Arrays.copyOf(promptIds, promptIds.length + maxNewTokens);
        for (int n = promptIds.length; n < ids.length; n++) {
            ids[n] = nextToken(Arrays.copyOf(ids, n));
            if (stopIds.contains(ids[n])) {
                return Arrays.copyOf(ids, n + 1);
            }
        }
        return ids;
    }

    private long nextToken(long[] context) {
        try (NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray ids = call.create(context, new Shape(1, context.length)); // (1, S)
            NDArray mask = call.ones(new Shape(1, context.length), DataType.INT64); // (1, S)
            NDArray hidden = model.hiddenStates(model.embed(ids), mask); // (1, S, H)
            NDArray last = hidden.get(":, -1, :"); // (1, H)
            return model.logits(last).argMax(-1).toLongArray()[0];
        }
    }
}
