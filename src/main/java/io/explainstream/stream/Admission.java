package io.explainstream.stream;

/**
 * A valid event and what the limits did to it.
 *
 * @param event the event
 * @param explain false when the event is skipped (other model, not sampled)
 * @param skipReason why it is skipped, or null
 * @param promptTokens prompt tokens explained (after truncation)
 * @param responseTokens response tokens explained (after truncation)
 * @param promptTokensDropped oldest prompt tokens dropped by truncate_left
 * @param responseTokensDropped last response tokens dropped by truncate_right
 */
public record Admission(InputEvent event, boolean explain, String skipReason, int promptTokens, int responseTokens,
        int promptTokensDropped, int responseTokensDropped) {

    static Admission skipped(InputEvent event, String reason) {
        return new Admission(event, false, reason, 0, 0, 0, 0);
    }

    public int tokens() {
        return promptTokens + responseTokens;
    }
}
