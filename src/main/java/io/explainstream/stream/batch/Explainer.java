package io.explainstream.stream.batch;

import io.explainstream.attribution.GradientMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.audit.Tier;
import java.time.Duration;
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

    /**
     * The batch in its tier within a time limit: an explainer that can stop mid-call throws
     * {@link io.explainstream.attribution.AttributionTimeLimitException} once the limit has passed;
     * by default the limit is not enforced.
     */
    default List<Explanation> explain(List<PendingEvent> batch, Tier tier, Duration timeLimit) {
        return explain(batch, tier);
    }

    /**
     * The engine work of a batch of {@code events} padded to {@code length} tokens, each with up to
     * {@code targets} response tokens, explained in {@code tier}: what the batcher's time budget
     * measures seconds per ({@link TransactionBudget}), so only ratios matter. Padded tokens times
     * path points: on the bundled model a token of a 504-token prompt costs 8.5 times one of a
     * 24-token prompt (attention grows as the square of the length) and the model's FLOPs undercount
     * it 3 times ({@code bench engine --shapes 24/8,504/8}), while calls of a few tokens are fixed costs,
     * which FLOPs overcount; the engine's time limit ({@link #explain(List, Tier, Duration)}) bounds
     * what any estimate gets wrong.
     */
    default double work(int events, int length, int targets, Tier tier) {
        return (double) events * length * (tier.method() == GradientMethod.INTEGRATED_GRADIENTS ? tier.steps() : 1);
    }
}
