package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.explainstream.model.LlamaModel;
import java.util.List;

/**
 * The events of one attribution call, side by side: their embeddings right-padded to the longest
 * event, with the attention mask that hides the padding, and which positions are attributed.
 * Chunks select their rows from here by event index, so a chunk never copies more than it uses.
 */
final class EventBatch {

    final List<PreparedEvent> events;
    /** L: the longest sequence; shorter ones are right-padded. */
    final int length;
    /** (E, L, H) compute dtype: x, the embedding-layer outputs of each sequence. */
    final NDArray inputs;
    /** (E, L) int64: 1 at real tokens, 0 at padding. */
    final NDArray attentionMask;
    /** (E, L, 1) compute dtype: 1 at attributed prompt positions, 0 elsewhere (also at padding). */
    private final NDArray isAttributed;

    private EventBatch(List<PreparedEvent> events, int length, NDArray inputs, NDArray attentionMask, NDArray isAttributed) {
        this.events = events;
        this.length = length;
        this.inputs = inputs;
        this.attentionMask = attentionMask;
        this.isAttributed = isAttributed;
    }

    static EventBatch build(NDManager manager, LlamaModel model, List<PreparedEvent> events) {
        int e = events.size();
        int length = events.stream().mapToInt(PreparedEvent::length).max().orElseThrow();
        long[] ids = new long[e * length];
        long[] mask = new long[e * length];
        float[] attributed = new float[e * length];
        for (int row = 0; row < e; row++) {
            PreparedEvent event = events.get(row);
            for (int i = 0; i < event.length(); i++) {
                ids[row * length + i] = event.ids()[i];
                mask[row * length + i] = 1;
                attributed[row * length + i] = event.attributed()[i] ? 1 : 0;
            }
        }
        NDArray inputs = model.embed(manager.create(ids, new Shape(e, length))); // (E, L, H)
        NDArray isAttributed = manager.create(attributed, new Shape(e, length, 1)).toType(model.dtype().dataType(), false); // (E, L, 1)
        return new EventBatch(events, length, inputs, manager.create(mask, new Shape(e, length)), isAttributed);
    }

    /**
     * Integrated Gradients' path: b = x at fixed positions (BOS when skipped, the response, the
     * padding), the baseline embedding at attributed ones, so x − b is zero where nothing is attributed.
     *
     * @param baselineEmbedding (H) the embedding that replaces attributed tokens
     */
    IntegratedGradients.Path path(NDArray baselineEmbedding) {
        NDArray kept = inputs.mul(isAttributed.neg().add(1)); // (E, L, H)
        NDArray baselines = kept.add(isAttributed.mul(baselineEmbedding.reshape(1, 1, -1))); // (E, L, H)
        return IntegratedGradients.Path.between(baselines, inputs);
    }

    /**
     * What the gradient methods multiply ∂f/∂e at x by: x for input × gradient, ones for the
     * gradient; zero where nothing is attributed.
     *
     * @return (E, L, H)
     */
    NDArray gradientMultipliers(GradientMethod method) {
        switch (method) {
            case INPUT_X_GRADIENT:
                return inputs.mul(isAttributed);
            case GRADIENT:
                return isAttributed.broadcast(inputs.getShape());
            default:
                throw new IllegalArgumentException(method + " is not a gradient method");
        }
    }
}
