package io.explainstream.diff;

import java.util.List;
import java.util.OptionalDouble;

/**
 * How one event's explanation changed between the replay (new) and the side it is compared
 * against (old).
 *
 * @param group the event's aggregation group (metadata values of the group-by keys, or the model)
 * @param jaccard top-k overlap; empty when neither side has an attributed item
 * @param spearman rank correlation over the items both attribute; empty with fewer than 2 or no spread
 * @param comparedItems items the rank correlation compares
 * @param deltaChange replay's sequence_delta minus the other's, nats; empty when a side was
 *     explained by a gradient method, which has no completeness gap
 * @param logProbChange replay's Σ response_logprobs minus the other's, nats
 * @param replayTop the replay's top-k items as "text score", for people
 * @param againstTop the other side's
 */
public record EventDiff(String eventId, String group, Basis basis, OptionalDouble jaccard, OptionalDouble spearman, int comparedItems,
        List<DiffMeasures.ShareChange> segmentChanges, OptionalDouble deltaChange, double logProbChange, String replayTopSegment,
        String againstTopSegment, List<String> replayTop, List<String> againstTop) {

    /** What the overlap and rank correlation compare. */
    public enum Basis {
        /** The same prompt tokens (ids and character spans) on both sides: compared token by token. */
        TOKENS,
        /** Differing tokenizations (a tokenizer change, another truncation): compared on words matched by character span. */
        WORDS
    }

    public EventDiff {
        segmentChanges = List.copyOf(segmentChanges);
        replayTop = List.copyOf(replayTop);
        againstTop = List.copyOf(againstTop);
    }

    public double maxShareChange() {
        return DiffMeasures.maxShareChange(segmentChanges);
    }

    public boolean topSegmentChanged() {
        return !java.util.Objects.equals(replayTopSegment, againstTopSegment);
    }

    /** See {@link DiffMeasures#change}. */
    public double change() {
        return DiffMeasures.change(jaccard, spearman, maxShareChange());
    }
}
