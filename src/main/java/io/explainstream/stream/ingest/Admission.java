package io.explainstream.stream.ingest;

import io.explainstream.attribution.summary.PromptLayout;
import io.explainstream.tokenize.EncodedText;

/**
 * What becomes of one input record, decided where it enters ({@link Ingest}): explained on the
 * tokens validation produced, skipped with a reason (counted), or rejected with a reason (a dead
 * letter).
 */
public sealed interface Admission permits Admission.Explain, Admission.Skip, Admission.Reject {

    static Skip skipped(InputEvent event, String reason) {
        return new Skip(event, reason);
    }

    /** The decoded event; null for a record that could not be decoded. */
    InputEvent event();

    /**
     * A valid event, the tokens it will be explained on, and what the limits did to it.
     *
     * @param event the event
     * @param prompt the prompt tokens explained (after truncation)
     * @param response the response tokens explained (after truncation)
     * @param promptTokensDropped oldest prompt tokens dropped by truncate_left
     * @param responseTokensDropped last response tokens dropped by truncate_right
     * @param layout the segments and words of the explained prompt tokens
     */
    record Explain(InputEvent event, EncodedText prompt, EncodedText response, int promptTokensDropped, int responseTokensDropped,
            PromptLayout layout) implements Admission {

        public int tokens() {
            return prompt.size() + response.size();
        }
    }

    /**
     * A valid event that is not explained, by configuration.
     *
     * @param reason the metric label: other_model, not_sampled
     */
    record Skip(InputEvent event, String reason) implements Admission {}

    /**
     * A record that cannot be explained as it is.
     *
     * @param event the decoded event, or null when the record could not be decoded
     * @param error names the field and the value (an {@link InvalidEventException}), or an
     *     unexpected decoding failure; its message is the dead letter's reason
     * @param model what the metrics count it under: the event's model, or for a record that could
     *     not be decoded the {@code model} its JSON gives (null where none can be read), as the
     *     statistics group its dead letter
     * @param metadata likewise: the event's metadata, or the JSON's ({@link GroupFields}: a value that
     *     is not a string as its JSON text; empty where none)
     */
    record Reject(InputEvent event, RuntimeException error, String model, java.util.Map<String, String> metadata) implements Admission {}
}
