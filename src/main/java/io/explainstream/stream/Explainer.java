package io.explainstream.stream;

import io.explainstream.schema.Explanation;
import java.util.List;

/** Explains a batch of events in one engine call. */
public interface Explainer {

    /**
     * @return one explanation per event, in order
     * @throws RuntimeException when the batch failed as a whole (the caller splits it and retries)
     */
    List<Explanation> explain(List<PendingEvent> batch);
}
