package io.explainstream.diff;

/**
 * One side of a diff: the explanations of one topic, of one replay or of the live service, and
 * where that side's dead letters are.
 *
 * @param option the command-line option that chose it, named in errors
 * @param topic where its explanations are
 * @param replayId the replay whose records are taken (by the replay-id header); null: the live
 *     service's, the records without one (a replay may write to the live topic too)
 * @param deadLetterTopic where the same run put the events it could not explain (a replay: its
 *     output topic with -dlq; the live service: dlq.topic); null when not known, and then an event
 *     on the other side only is not told apart from one this side never read
 * @param unknownBecause why the dead-letter topic is not known, said in the report; null when it is
 */
public record Side(String option, String topic, String replayId, String deadLetterTopic, String unknownBecause) {

    /** A side whose dead-letter topic is known (or, null, not known for no reason worth saying). */
    public Side(String option, String topic, String replayId, String deadLetterTopic) {
        this(option, topic, replayId, deadLetterTopic, null);
    }

    public boolean isLive() {
        return replayId == null;
    }

    /** "replay X on topic T" or "live explanations on topic T", for messages. */
    public String describe() {
        return (isLive() ? "live explanations" : "replay " + replayId) + " on topic " + topic;
    }
}
