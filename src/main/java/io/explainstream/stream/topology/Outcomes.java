package io.explainstream.stream.topology;

import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A replay's count of what became of the events in its range, kept in a changelogged store that
 * commits with the explanations, so the counts survive an interruption and are exact under
 * exactly-once. The live service keeps none ({@link #NONE}).
 */
public final class Outcomes {

    public static final String STORE = "replay-outcomes";
    public static final String EXPLAINED = "explained";
    public static final String DEAD_LETTERED = "dead_lettered";
    public static final String SKIPPED = "skipped";

    static final Outcomes NONE = new Outcomes(null);

    private final KeyValueStore<String, Long> store;

    private Outcomes(KeyValueStore<String, Long> store) {
        this.store = store;
    }

    /** The context's outcome store when the scope counts outcomes (a replay), NONE otherwise. */
    static Outcomes of(ProcessorContext<?, ?> context, Scope scope) {
        return scope.countsOutcomes() ? new Outcomes(context.getStateStore(STORE)) : NONE;
    }

    void count(String outcome) {
        if (store != null) {
            Long now = store.get(outcome);
            store.put(outcome, now == null ? 1 : now + 1);
        }
    }
}
