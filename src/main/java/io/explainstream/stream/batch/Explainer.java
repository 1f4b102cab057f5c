package io.explainstream.stream.batch;

import io.explainstream.schema.Explanation;
import io.explainstream.stream.audit.Tier;
import java.util.List;

/** Explains a batch of events in one engine call. */
public interface Explainer {

    /**
     * @return one explanation per event, in order
     * @throws RuntimeException when the batch failed as a whole (the caller splits it and retries)
     */
    List<Explanation> explain(List<PendingEvent> batch);

    /**
     * The batch with the method and steps of its tier (every event of a batch has the same). An
     * explainer that has one method only ignores the tier; the batcher writes the tier fields.
     */
    default List<Explanation> explain(List<PendingEvent> batch, Tier tier) {
        return explain(batch);
    }
}
