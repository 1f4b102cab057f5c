package io.explainstream.stream;

import io.explainstream.tokenize.EncodedText;

/**
 * A valid event, the tokens it will be explained on, and what the limits did to it.
 *
 * @param event the event
 * @param explain false when the event is skipped (other model, not sampled)
 * @param skipReason why it is skipped, or null
 * @param prompt the prompt tokens explained (after truncation); null when skipped
 * @param response the response tokens explained (after truncation); null when skipped
 * @param promptTokensDropped oldest prompt tokens dropped by truncate_left
 * @param responseTokensDropped last response tokens dropped by truncate_right
 */
public record Admission(InputEvent event, boolean explain, String skipReason, EncodedText prompt, EncodedText response,
        int promptTokensDropped, int responseTokensDropped) {

    static Admission skipped(InputEvent event, String reason) {
        return new Admission(event, false, reason, null, null, 0, 0);
    }

    public int tokens() {
        return prompt == null ? 0 : prompt.size() + response.size();
    }
}
