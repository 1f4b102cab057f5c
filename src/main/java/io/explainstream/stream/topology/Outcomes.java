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

    /** The store's keys of the last offset read from each input partition: "read-through.3". */
    private static final String READ_THROUGH = "read-through.";

    static final Outcomes NONE = new Outcomes(null);

    private final KeyValueStore<String, Long> store;

    private Outcomes(KeyValueStore<String, Long> store) {
        this.store = store;
    }

    /** The context's outcome store when the scope counts outcomes (a replay), NONE otherwise. */
    static Outcomes of(ProcessorContext<?, ?> context, Scope scope) {
        return scope.countsOutcomes() ? new Outcomes(context.getStateStore(STORE)) : NONE;
    }

    /** Whether a store key is an outcome's count (the store also keeps the offsets read). */
    public static boolean isOutcome(String key) {
        return !key.startsWith(READ_THROUGH);
    }

    /**
     * Whether this record was read before, and if not, notes it as read: its offset is at or
     * before the last one read from its partition. Committed with the outcomes and the consumer's
     * offsets, so under exactly-once a record is read before only when the group's offsets went
     * back (deleted, and restored from the replay's record, saved seconds before the last commit).
     */
    boolean readBefore(int partition, long offset) {
        if (store == null) {
            return false;
        }
        String key = READ_THROUGH + partition;
        Long through = store.get(key);
        if (through != null && offset <= through) {
            return true;
        }
        store.put(key, offset);
        return false;
    }

    void count(String outcome) {
        if (store != null) {
            Long now = store.get(outcome);
            store.put(outcome, now == null ? 1 : now + 1);
        }
    }
}
