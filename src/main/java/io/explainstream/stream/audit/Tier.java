package io.explainstream.stream.audit;

import io.explainstream.attribution.GradientMethod;

/**
 * What one event gets from the engine, and why: written to its explanation's {@code tier} and
 * {@code tier_reason}. Events batch only with events of the same method and steps.
 *
 * @param kind full (the configured method) or cheap (one forward and backward)
 * @param reason why it got that kind
 * @param method the engine's method for it
 * @param steps the integrated-gradients steps for it (fewer under backlog)
 */
public record Tier(Kind kind, Reason reason, GradientMethod method, int steps) {

    public enum Kind {
        FULL,
        CHEAP
    }

    public enum Reason {
        /** In the sample, explained as configured. */
        SAMPLED,
        /** Forced by audit.sample.always or metadata.audit=full. */
        FORCED,
        /** Outside the sample: the cheap method. */
        NOT_SAMPLED,
        /** Degraded by backlog control: fewer steps (still full) or the cheap method. */
        BACKLOG
    }

    /** The engine call it makes: events of the same method and steps share one. */
    public Call call() {
        return new Call(method, steps);
    }

    /** The metric label, as the Avro symbol but in lower case. */
    public static String label(Enum<?> value) {
        return value.name().toLowerCase(java.util.Locale.ROOT);
    }
}
