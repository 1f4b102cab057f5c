package io.explainstream.stream.audit;

import io.explainstream.attribution.GradientMethod;
import io.explainstream.stream.ingest.InputEvent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which events get the full method within the compute budget: a deterministic sample by event id,
 * rules that force the full method, the cheaper method for the rest, and the backlog limit past
 * which the service degrades ({@link BacklogController}).
 *
 * @param sampleRate share of events explained with the full method, picked by a hash of event_id
 *     ({@code audit.sample.rate}, or the deprecated {@code sample.rate})
 * @param always rules that force the full method ({@code audit.sample.always}); an event with
 *     {@code metadata.audit=full} is always forced as well
 * @param cheapMethod what the events outside the sample get ({@code audit.cheap.method})
 * @param maxLagMs input-record lag past which the service degrades ({@code audit.max.lag.ms})
 * @param minSteps fewest integrated-gradients steps backlog control goes down to ({@code audit.min.steps})
 */
public record AuditPolicy(double sampleRate, List<Rule> always, CheapMethod cheapMethod, long maxLagMs, int minSteps) {

    /** Every event in full, never degraded below the configured steps for 60 s of lag: the defaults. */
    public static final AuditPolicy DEFAULTS = new AuditPolicy(1.0, List.of(), CheapMethod.INPUT_X_GRADIENT, 60_000, 8);

    /** Why an event is (or is not) in line for the full method; decided once, where it enters. */
    public enum Choice {
        SAMPLED,
        FORCED,
        NOT_SAMPLED
    }

    /** The method of the events outside the sample. */
    public enum CheapMethod {
        INPUT_X_GRADIENT(GradientMethod.INPUT_X_GRADIENT),
        GRADIENT(GradientMethod.GRADIENT),
        /** Not explained: counted in explainstream_events_skipped_total{reason="not_sampled"}. */
        SKIP(null);

        private final GradientMethod method;

        CheapMethod(GradientMethod method) {
            this.method = method;
        }

        /** The method, or input_x_gradient for skip: under backlog, sampled events still get a cheap explanation. */
        GradientMethod methodOrDefault() {
            return method != null ? method : GradientMethod.INPUT_X_GRADIENT;
        }

        public static CheapMethod parse(String key, String value) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + " = '" + value + "' must be input_x_gradient, gradient or skip");
            }
        }
    }

    /**
     * One forcing rule: {@code model=a|b} (the event's model is one of these) or
     * {@code metadata.KEY=v1|v2} (the metadata value of KEY is one of these).
     *
     * @param metadataKey the metadata key compared, or null for the model
     */
    public record Rule(String metadataKey, Set<String> values) {

        boolean matches(InputEvent event) {
            String actual = metadataKey == null ? event.model() : event.metadata().get(metadataKey);
            return actual != null && values.contains(actual);
        }
    }

    /** The producer's flag: {@code metadata.audit=full} forces the full method. */
    static final Rule PRODUCER_FLAG = new Rule("audit", Set.of("full"));

    public AuditPolicy {
        always = List.copyOf(always);
    }

    /** The same policy with another lag limit; 0 turns backlog control off. */
    public AuditPolicy withMaxLagMs(long value) {
        return new AuditPolicy(sampleRate, always, cheapMethod, value, minSteps);
    }

    /** The rules of {@code audit.sample.always}: comma-separated {@code model=a|b} or {@code metadata.KEY=v1|v2}. */
    public static List<Rule> parseRules(String key, String text) {
        List<Rule> rules = new ArrayList<>();
        for (String part : text.split(",")) {
            String rule = part.trim();
            if (rule.isEmpty()) {
                continue;
            }
            int eq = rule.indexOf('=');
            String field = eq < 0 ? "" : rule.substring(0, eq).trim();
            Set<String> values = new LinkedHashSet<>();
            for (String value : (eq < 0 ? "" : rule.substring(eq + 1)).split("\\|")) {
                if (!value.trim().isEmpty()) {
                    values.add(value.trim());
                }
            }
            boolean metadata = field.startsWith("metadata.") && field.length() > "metadata.".length();
            if (values.isEmpty() || !(field.equals("model") || metadata)) {
                throw new IllegalArgumentException(key + ": rule '" + rule + "' must be model=NAME[|NAME...] or metadata.KEY=VALUE[|VALUE...]");
            }
            rules.add(new Rule(metadata ? field.substring("metadata.".length()) : null, Set.copyOf(values)));
        }
        return rules;
    }

    /** Forced, sampled or not: the same answer for the same event on every instance and in every replay. */
    public Choice choose(InputEvent event) {
        if (PRODUCER_FLAG.matches(event) || always.stream().anyMatch(rule -> rule.matches(event))) {
            return Choice.FORCED;
        }
        return sampled(event.eventId(), sampleRate) ? Choice.SAMPLED : Choice.NOT_SAMPLED;
    }

    /**
     * Deterministic by event id: the first 53 bits of its SHA-256 as a uniform number in [0, 1),
     * under the rate. Not String.hashCode: its low bits follow sequential ids too closely for a
     * fair share, and a cryptographic hash is the same on every JVM.
     */
    public static boolean sampled(String eventId, double rate) {
        if (rate >= 1) {
            return true;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(eventId.getBytes(StandardCharsets.UTF_8));
            long bits = 0;
            for (int i = 0; i < 8; i++) {
                bits = (bits << 8) | (digest[i] & 0xff);
            }
            double uniform = (bits >>> 11) * 0x1.0p-53;
            return uniform < rate;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
