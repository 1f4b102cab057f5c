package io.explainstream.stats;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.text.Shortened;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * What the window aggregation needs of one explanation or one dead letter: a few numbers instead
 * of the token arrays. Written to the observations topic keyed by group, so that each group's
 * windows are aggregated by one task. JSON, and unknown fields are ignored, so that an instance of
 * the previous release reads the observations of the next during a rolling upgrade.
 *
 * @param kind an explanation, a dead letter or an event skipped to stay within the budget
 * @param eventId the event's id (a dead letter's record key)
 * @param eventTimeMs the event time the window is chosen by
 * @param method the attribution method, lower case; null for a dead letter
 * @param latencyMs the engine call's milliseconds (attribution_latency_ms)
 * @param lagMs processing_time - event_time
 * @param relativeDelta |delta| / Σ|f(x) − f(b)|; null without a baseline (the gradient methods);
 *     {@link Double#MAX_VALUE} stands for an infinite one (JSON has no infinity)
 * @param stage a dead letter's stage header
 * @param reason a dead letter's reason header, cut to {@link #REASON_CHARS}; a skipped event's reason
 * @param reliance what the prompt's segments tell (issue 17); null for a dead letter and for an
 *     explanation written before the segments existed (its defaults would read as "relied on nothing")
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Observation(Kind kind, String eventId, long eventTimeMs, String method, boolean promptTruncated, boolean responseTruncated,
        boolean redacted, boolean replayed, double latencyMs, double lagMs, Double relativeDelta, String stage, String reason, Reliance reliance) {

    /**
     * The segment and word fields of one explanation, reduced to what the window keeps.
     *
     * @param kindShares summed share of the segments of each kind present (lower-case kind name)
     * @param spanShares share of each named span (kind SPAN), by its name
     * @param topKind the kind of the top segment, lower case; null when every score is 0
     * @param topSpan the top segment's name when it is a span, else null
     * @param entropy attribution_entropy in nats
     * @param words the event's words by text with summed |score| and occurrences, the
     *     {@link #WORDS} largest only: the window's counter is approximate past its size anyway,
     *     and a long prompt must not make the observation large
     */
    public record Reliance(Map<String, Double> kindShares, Map<String, Double> spanShares, String topKind, String topSpan, double entropy,
            List<WordScore> words) {}

    /** A word's summed |score| and occurrences. */
    public record WordScore(String text, double score, long count) {}

    /** Words one observation carries at most. */
    static final int WORDS = 50;

    /** Reasons name values of the event (its length, the bad field); the first characters tell the kind. */
    static final int REASON_CHARS = 120;

    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public enum Kind { EXPLANATION, DEAD_LETTER, SKIPPED }

    static Observation deadLetter(String eventId, long eventTimeMs, String stage, String reason) {
        String cut = reason == null ? "unknown" : Shortened.start(reason, REASON_CHARS);
        return new Observation(Kind.DEAD_LETTER, eventId, eventTimeMs, null, false, false, false, false, 0, 0, null,
                stage == null ? "unknown" : stage, cut, null);
    }

    /** An event skipped to stay within the budget; {@code reason} is not_sampled or backlog. */
    static Observation skipped(String eventId, long eventTimeMs, String reason) {
        return new Observation(Kind.SKIPPED, eventId, eventTimeMs, null, false, false, false, false, 0, 0, null, null,
                reason == null ? "unknown" : Shortened.start(reason, REASON_CHARS), null);
    }

    byte[] toBytes() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Observation fromBytes(byte[] bytes) throws IOException {
        return JSON.readValue(bytes, Observation.class);
    }
}
