package io.explainstream.diff;

import java.util.OptionalDouble;
import java.util.function.Function;

/** The per-event measures whose distributions a diff reports. */
public enum Measure {
    TOP_K_JACCARD("top_k_jaccard", EventDiff::jaccard),
    SPEARMAN("spearman", EventDiff::spearman),
    MAX_SHARE_CHANGE("max_share_change", d -> OptionalDouble.of(d.maxShareChange())),
    SEQUENCE_DELTA_CHANGE("sequence_delta_change", EventDiff::deltaChange),
    RESPONSE_LOGPROB_CHANGE("response_logprob_change", d -> OptionalDouble.of(d.logProbChange())),
    CHANGE("change", d -> OptionalDouble.of(d.change()));

    private final String key;
    private final Function<EventDiff, OptionalDouble> value;

    Measure(String key, Function<EventDiff, OptionalDouble> value) {
        this.key = key;
        this.value = value;
    }

    /** The name in JSON, Avro and text output. */
    public String key() {
        return key;
    }

    public OptionalDouble of(EventDiff diff) {
        return value.apply(diff);
    }
}
