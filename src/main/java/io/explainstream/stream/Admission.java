package io.explainstream.stream;

import io.explainstream.attribution.summary.PromptLayout;
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
 * @param layout the segments and words of the explained prompt tokens; null when skipped
 */
public record Admission(InputEvent event, boolean explain, String skipReason, EncodedText prompt, EncodedText response,
        int promptTokensDropped, int responseTokensDropped, PromptLayout layout) {

    static Admission skipped(InputEvent event, String reason) {
        return new Admission(event, false, reason, null, null, 0, 0, null);
    }

    public int tokens() {
        return prompt == null ? 0 : prompt.size() + response.size();
    }
}
