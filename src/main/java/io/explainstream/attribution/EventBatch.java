package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.explainstream.model.LlamaModel;
import java.util.List;

/**
 * The per-event tensors of one attribution call, right-padded to the longest event: the ends of
 * each event's path and the multiplier of its gradients. Path points are selected from here by
 * event index, so a chunk of rows never copies more than it uses.
 */
final class EventBatch {

    final List<PreparedEvent> events;
    /** L: the longest sequence; shorter ones are right-padded. */
    final int length;
    /** (E, L, H) compute dtype: x, the embedding-layer outputs of each sequence. */
    final NDArray inputs;
    /** (E, L, H) compute dtype: b, x with attributed positions replaced by the baseline. */
    final NDArray baselines;
    /** (E, L, H) compute dtype: x − b, so that b + 1·(x − b) is the input (zero at fixed positions for IG). */
    final NDArray differences;
    /** (E, L, H) compute dtype: what gradients are multiplied by (x − b, x, or ones). */
    final NDArray multipliers;
    /** (E, L) int64: 1 at real tokens, 0 at padding. */
    final NDArray attentionMask;

    private EventBatch(List<PreparedEvent> events, int length, NDArray inputs, NDArray baselines, NDArray differences,
            NDArray multipliers, NDArray attentionMask) {
        this.events = events;
        this.length = length;
        this.inputs = inputs;
        this.baselines = baselines;
        this.differences = differences;
        this.multipliers = multipliers;
        this.attentionMask = attentionMask;
    }

    /**
     * @param baselineEmbedding (H) the embedding that replaces attributed tokens (unused by the
     *     gradient methods, whose baseline is the zero vector)
     */
    static EventBatch build(NDManager manager, LlamaModel model, List<PreparedEvent> events, AttributionMethod method,
            NDArray baselineEmbedding) {
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
        DataType dtype = model.dtype().dataType();
        NDArray inputs = model.embed(manager.create(ids, new Shape(e, length))); // (E, L, H)
        NDArray isAttributed = manager.create(attributed, new Shape(e, length, 1)).toType(dtype, false); // (E, L, 1)
        NDArray baselines;
        if (method == AttributionMethod.INTEGRATED_GRADIENTS) {
            // b = x at fixed positions, the baseline embedding at attributed ones
            NDArray kept = inputs.mul(isAttributed.neg().add(1)); // (E, L, H)
            baselines = kept.add(isAttributed.mul(baselineEmbedding.reshape(1, 1, -1))); // (E, L, H)
        } else {
            baselines = inputs.zerosLike(); // (E, L, H)
        }
        NDArray differences = inputs.sub(baselines); // (E, L, H), zero at fixed positions for IG
        NDArray multipliers = multipliers(method, inputs, differences, isAttributed); // (E, L, H)
        return new EventBatch(events, length, inputs, baselines, differences, multipliers,
                manager.create(mask, new Shape(e, length)));
    }

    /** x − b for IG, x for input × gradient, ones for gradient; zero where nothing is attributed. */
    private static NDArray multipliers(AttributionMethod method, NDArray inputs, NDArray differences, NDArray isAttributed) {
        switch (method) {
            case INTEGRATED_GRADIENTS:
                return differences;
            case INPUT_X_GRADIENT:
                return inputs.mul(isAttributed);
            default:
                return isAttributed.broadcast(inputs.getShape());
        }
    }

    /** The rows of a per-event tensor for a chunk's events, owned by the chunk's manager. */
    static NDArray rows(NDArray perEvent, NDArray eventIndex) {
        NDArray selected = perEvent.get(new NDIndex("{}", eventIndex));
        selected.attach(eventIndex.getManager());
        return selected;
    }
}
